"""Casework's alerts in the ground-truth comparison: does every child the truth flags reach its ward, exactly once,
whatever order scoring's flags and linkage's profiles arrive in?

``benchmarks.scoring_truth --alerts`` feeds what scoring publishes (scoring.flags.v1) and what linkage publishes
(linkage.children.v1) into casework's real intake (``handle_flags`` / ``handle_profile``, the worker's batch path,
an in-memory SQLite database), once per arrival order:

* ``as-produced``   — each message as it was produced;
* ``flags-first``   — each day's flags before that day's profiles (casework's flags agent ahead of its profiles one);
* ``profiles-first`` — each day's profiles before that day's flags.

Compared per order: children the truth flags during the period (from the morning after go-live) who got no alert
(*missing*), alerted children the truth never flags (*extra*), alert ids published twice (*duplicated*), children
with more than one open alert at once, open alerts in another ward than the child's household at the end; and
the orders against each other (the alert sets by child, ward, tier, items, reason, and the held listings, must be
byte-identical).

A child whose ward is on no record yet at the end — a newborn flagged (say, covered by its mother's 児童扶養手当) before
its 出生届 reaches 住民記録, the only source that names a ward — cannot be routed to any ward: casework holds its
listing on the child (``children.pending_alert``) and raises it when the ward arrives. The truth expects such a child
*held* (counted under ``held``), not alerted; a child it expects held with nothing held is missing, and a listing
held on a child whose ward is on record is *stuck* (a listing that should have been raised).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from contracts.envelope import Envelope
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.adapters.orm import Alert, Base, Child
from services.casework.adapters.report_store import SqlReportStore
from services.casework.adapters.source_status import SqlSourceStatusStore
from services.casework.adapters.unit_of_work import SqlUnitOfWork
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.domain.workflow import TERMINAL
from services.casework.service_layer.intake import handle_flags, handle_profile

ORDERS = ("as-produced", "flags-first", "profiles-first")
Message = tuple[str, bytes]  # ("flags" | "profile", the envelope as published)


class CaseworkStage:
    """One casework database fed in one arrival order; a day's messages are applied at the end of that day."""

    def __init__(self, order: str, policy: AlertPolicy | None = None) -> None:
        self.order = order
        self.engine = create_engine("sqlite://", poolclass=StaticPool)
        Base.metadata.create_all(self.engine)
        self.policy = policy or AlertPolicy()
        self.day: list[Message] = []
        self.outcomes: Counter[str] = Counter()
        self.published: Counter[str] = Counter()  # alert id → times put in the outbox

    def add(self, kind: str, value: bytes) -> None:
        self.day.append((kind, value))

    def end_of_day(self, today: date) -> None:
        now = datetime(today.year, today.month, today.day, 8, 0, tzinfo=UTC)  # 17:00 JST
        if self.order == "flags-first":
            batches = [[m for m in self.day if m[0] == "flags"], [m for m in self.day if m[0] == "profile"]]
        elif self.order == "profiles-first":
            batches = [[m for m in self.day if m[0] == "profile"], [m for m in self.day if m[0] == "flags"]]
        else:  # as produced, in runs of one kind (the worker's agents take batches of one topic)
            batches, run = [], []
            for message in self.day:
                if run and run[-1][0] != message[0]:
                    batches.append(run)
                    run = []
                run.append(message)
            batches.append(run)
        for batch in batches:
            if batch:
                self._apply(batch, now)
        self.day = []

    def _apply(self, batch: list[Message], now: datetime) -> None:
        kind = batch[0][0]
        model = ChildFlagsV1 if kind == "flags" else ChildProfileV1
        events = [Envelope[model].model_validate_json(value) for _, value in batch]  # type: ignore[valid-type]
        sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        with SqlUnitOfWork(sessions, SqlSourceStatusStore(), SqlReportStore()) as uow:
            uow.preload([e.data.child_id for e in events], [f"{kind}:{e.id}" for e in events])
            for event in events:
                handler = handle_flags if kind == "flags" else handle_profile
                result = handler(event, event_key=f"{kind}:{event.id}", uow=uow,  # type: ignore[arg-type]
                                 policy=self.policy, now=now)
                self.outcomes[result.outcome.split(":")[0]] += 1
                for alert in result.alerts:
                    self.published[alert.alert_id] += 1
            uow.commit()

    def held(self) -> dict[str, Any]:
        """Listings waiting for a ward at the end: child → the held listing."""
        with Session(self.engine) as session:
            return {c.child_id: c.pending_alert for c in session.scalars(select(Child).where(
                Child.pending_alert.is_not(None))) if c.pending_alert}

    def supported_by_child_guidance(self) -> set[str]:
        with Session(self.engine) as session:
            return set(session.scalars(select(Child.child_id).where(Child.supported_by_child_guidance.is_(True))))

    def alerts(self) -> list[tuple[str, str, str, str | None, tuple[int, ...], str, str]]:
        """(alert id, child, ward, tier, items, reason, state), sorted: the set two runs must agree on."""
        with Session(self.engine) as session:
            rows = session.scalars(select(Alert)).all()
            return sorted((a.alert_id, a.child_id, a.ward_code, a.tier, tuple(a.items), a.reason, a.state)
                          for a in rows)


@dataclass(frozen=True)
class AlertTruth:
    """What the truth expects of casework's alerts at the end of the period."""

    expected: dict[str, str | None]  # linkage child id → 宛名番号, for every child the truth flags during the period
    ever_flagged: set[str]  # every linkage child the truth ever flags (also before the period: an alert is not extra)
    ward_at_end: dict[str, str | None]  # the household's ward at the end (None when the child left)
    unplaced: set[str] = field(default_factory=set)  # children no 住民記録 record has placed in a ward by the end


@dataclass
class AlertComparison:
    order: str
    expected: int = 0  # children the truth flags during the period, with a linkage identity
    alerted: int = 0
    held: int = 0  # expected children with no ward on record yet, their listing held for it
    missing: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # a listing held although the truth has the child's ward on record
    extra: list[str] = field(default_factory=list)
    duplicated: int = 0
    several_open: int = 0
    wrong_ward: list[str] = field(default_factory=list)
    digest: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)


def compare_alerts(stage: CaseworkStage, truth: AlertTruth) -> AlertComparison:
    """Children scoring last said 児童相談所 supports are not listed by design and are not counted missing; a child
    the truth has in no ward yet (``truth.unplaced``) is expected to hold its listing instead of an alert."""
    alerts = stage.alerts()
    guidance = stage.supported_by_child_guidance()
    held = stage.held()
    result = AlertComparison(stage.order, expected=len(truth.expected), outcomes=stage.outcomes)
    by_child: dict[str, list[Any]] = {}
    for alert in alerts:
        by_child.setdefault(alert[1], []).append(alert)
    result.alerted = len(by_child)
    waiting = {c for c in truth.expected if c not in by_child and c not in guidance and c in truth.unplaced
               and c in held}
    result.held = len(waiting)
    result.missing = sorted(c for c in truth.expected if c not in by_child and c not in guidance and c not in waiting)
    result.stuck = sorted(c for c in held if c not in truth.unplaced)
    result.extra = sorted(c for c in by_child if c not in truth.ever_flagged)
    result.duplicated = sum(n - 1 for n in stage.published.values() if n > 1)
    for child_id, rows in by_child.items():
        open_rows = [r for r in rows if r[6] not in TERMINAL]
        if len(open_rows) > 1:
            result.several_open += 1
        ward = truth.ward_at_end.get(child_id)
        if open_rows and ward and all(r[2] != ward for r in open_rows):
            result.wrong_ward.append(child_id)
    canonical: list[Any] = [(child, ward, tier, items, reason) for _, child, ward, tier, items, reason, _ in alerts]
    canonical += [("held", child, held[child]) for child in sorted(held)]
    result.digest = hashlib.sha256(orjson.dumps(canonical)).hexdigest()[:16]
    return result


def report(results: Iterable[AlertComparison]) -> list[str]:
    results = list(results)
    lines = [f"{'alerts: order':<26} {'expected':>8} {'alerted':>8} {'held':>5} {'missing':>8} {'stuck':>5} "
             f"{'extra':>6} {'dup':>4} {'2+ open':>7} {'wrong ward':>10}  digest"]
    for r in results:
        lines.append(f"  {r.order:<24} {r.expected:>8,} {r.alerted:>8,} {r.held:>5,} {len(r.missing):>8,} "
                     f"{len(r.stuck):>5,} {len(r.extra):>6,} {r.duplicated:>4,} {r.several_open:>7,} "
                     f"{len(r.wrong_ward):>10,}  {r.digest}")
    if any(r.held for r in results):
        lines.append("  held: flagged children no 住民記録 record places in a ward yet (出生届 not in by the end); "
                     "their listing waits on the child and is raised when the ward arrives")
    for r in results:
        for label, ids in (("missing", r.missing), ("stuck", r.stuck), ("extra", r.extra),
                           ("wrong ward", r.wrong_ward)):
            if ids:
                lines.append(f"  {r.order} {label}: {', '.join(ids[:5])}{' …' if len(ids) > 5 else ''}")
    same = len({r.digest for r in results}) == 1
    ok = same and all(not r.missing and not r.stuck and not r.extra and not r.duplicated and not r.several_open
                      and not r.wrong_ward for r in results)
    lines.append("alerts vs ground truth: " + ("EXACT (every order the same alert set)" if ok else
                                              "MISMATCH" + ("" if same else ": the orders give different alerts")))
    return lines
