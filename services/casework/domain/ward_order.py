"""Which ward a child belongs to when linkage's profile and scoring's flags disagree (pure).

Both sources say where the child lives and, in newer messages, since when (``ward_since``: the move-in or
birth date). Messages of the two topics arrive in any order relative to each other, so casework orders the
wards by the facts' own dates, never by arrival: the ward with the latest ``ward_since`` wins; when the dates
are equal or one is unknown, the profile's ward wins (linkage sees the registry first-hand). Within one
source a later message replaces the held ward unless it is older by its own date (or, for profiles, by
linkage's ``version``), so a stale ward never overrides a newer one.

A listing belongs to the ward the child lived in on the day it was made (``ward_on``): flags of a day before
a move casework already knows of are listed in the old ward and then follow the move, exactly as when the
move is learned after the flags.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WardClaim:
    """One source's word on the child's ward."""

    ward_code: str | None
    since: str | None = None  # ISO 8601 date; ISO strings order like the dates they name


def replaces(held: WardClaim, incoming: WardClaim) -> bool:
    """Whether a later message of the same source replaces the ward held from that source."""
    if not incoming.ward_code:
        return False  # "not known yet" never erases a ward that is known
    if held.since and incoming.since and incoming.since < held.since:
        return False  # a stale ward (an older move) never overrides a newer one
    return True


def profile_is_stale(held_version: int | None, incoming_version: int | None) -> bool:
    """A profile older than the one held (linkage's per-child version) changes nothing."""
    return held_version is not None and incoming_version is not None and incoming_version < held_version


def resolve(profile: WardClaim, flags: WardClaim) -> str | None:
    """The best-known ward: the latest by ``since``; the profile's when equal or unknown."""
    if not flags.ward_code:
        return profile.ward_code
    if not profile.ward_code:
        return flags.ward_code
    if profile.since and flags.since and flags.since > profile.since:
        return flags.ward_code
    return profile.ward_code


def ward_on(day: str, profile: WardClaim, flags: WardClaim) -> str | None:
    """The ward the child lived in on ``day`` (ISO 8601) as far as the two sources tell: a ward that applies
    only from a later date does not count yet; among the others, as ``resolve``."""
    def then(claim: WardClaim) -> WardClaim:
        return WardClaim(None) if claim.since and claim.since > day else claim
    return resolve(then(profile), then(flags))
