"""Whether a stage is working through a backlog, and when to say so on its output topic (``ProgressV1``,
contracts/topics/_progress.py): ingest on ingest.records.v1, linkage on linkage.facts.v1.

Scoring holds a child's assessment back while its facts belong to a backlog and releases the children once its input
has been quiet for ``CATCH_UP_QUIET_S``. Linkage's records do not all give facts: in ``pipeline_e2e`` at scale 0.25
linkage's output stopped for 55 s while it linked adults' registry records, and scoring took the silence for the end
of the backlog and released 63 059 children whose histories held only their registry facts (issue 19, twenty-fifth
pass). A report every ``interval_s`` while the records a stage handles are older than ``after_s`` keeps that silence
from happening; live, nothing is written.

Each report also says which instance wrote it (``reporter``, random per process) and how many source events are not
through the stage yet (``unread``): its input's records not handled (the reader's high watermarks), or what the stage
before it reported in that input, whichever is more. The report before is read in order with the records (it was
written when the records around it were): everything that stage had not handled then is not through this one now —
the records it wrote since are part of it. Scoring holds children past ``CATCH_UP_MAX_HOLD_S`` while linkage's count
shrinks (docs/scoring.md "Backlogs")."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from contracts.envelope import Envelope, envelope_dict
from contracts.topics._progress import ProgressV1

# A report of the stage before, read this long ago or longer, no longer counts: that stage is through or gone (it
# reports every few seconds of its own while behind, and this stage reads them at its own pace)
UPSTREAM_FOR_S = 30.0


class Progress:
    def __init__(self, interval_s: float, after_s: float, *, stage: str = "linkage") -> None:
        self.interval_s, self.after_s = interval_s, after_s
        self.records = 0  # handled since the last report (or the last look, when they were not behind)
        self.source_time: str | None = None  # the last record's, as its source handed it over
        self._reported = float("-inf")  # monotonic seconds of the last report
        self.reporter = f"{stage}-{secrets.token_hex(6)}"  # this process, in its reports
        self.handled_total = 0  # records handled since the start
        # the stage before: instance → (unread, read when, ``handled_total`` then, when it wrote it: its clock)
        self.upstream: dict[str, tuple[int, float, int, float]] = {}

    def handled(self, records: int, source_time: str | None) -> None:
        """``records`` more handled, the last of them handed over by its source at ``source_time``."""
        self.records += records
        self.handled_total += records
        if source_time:
            self.source_time = source_time

    def heard(self, report: ProgressV1, monotonic: float, written: float | None = None) -> None:
        """The stage before reported its backlog in this stage's input, read now. ``written``: when it wrote the
        report (its envelope's time, epoch seconds). Each report comes on every partition: a copy of an earlier
        report than the one kept, read late on another partition, is no longer that stage's count and is not kept,
        and a copy of the one kept keeps the records handled since the first was read off its count."""
        reporter = report.reporter
        if reporter is None or report.unread is None:
            return
        kept = self.upstream.get(reporter)
        if written is not None and kept is not None and written <= kept[3]:
            if written == kept[3]:
                self.upstream[reporter] = (kept[0], monotonic, kept[2], written)
            return
        self.upstream[reporter] = (report.unread, monotonic, self.handled_total,
                                   float("-inf") if written is None else written)

    def upstream_unread(self, monotonic: float) -> int:
        """What the stage before reported not yet handled, less the records this stage handled since it read that
        (they were part of it: the stage before's last report, written a moment before it was through, would
        otherwise stay level until it no longer counts), summed over its instances read within ``UPSTREAM_FOR_S``."""
        for name in [name for name, (_, when, _, _) in self.upstream.items() if monotonic - when >= UPSTREAM_FOR_S]:
            del self.upstream[name]
        total = self.handled_total
        return sum(max(0, unread - (total - then)) for unread, _, then, _ in self.upstream.values())

    def report(self, now: datetime, monotonic: float,
               unread: Callable[[], int | None] | None = None) -> dict[str, Any] | None:
        """The report due now (``ProgressV1``'s data), if one is: records handled since the last, the interval
        gone by, and the last record older than ``after_s``. Records that were not behind are forgotten.
        ``unread``: asked only when a report is due, the input's records not handled yet (the reader's
        ``unread``), None when not known; the stage before's report, when it says more, is reported instead."""
        if self.interval_s <= 0 or not self.records or self.source_time is None \
                or monotonic - self._reported < self.interval_s:
            return None
        records, source_time = self.records, self.source_time
        self.records, self.source_time = 0, None
        try:
            age = now.timestamp() - datetime.fromisoformat(source_time).timestamp()
        except ValueError:  # not a time: nothing to tell (the record itself went on)
            return None
        if age <= self.after_s:
            return None
        self._reported = monotonic
        own = unread() if unread is not None else None
        upstream = self.upstream_unread(monotonic)  # drops the reports no longer heard first
        if self.upstream and (own is None or upstream > own):
            own = upstream
        return {"records": records, "source_time": source_time, "reporter": self.reporter, "unread": own}


def progress_messages(topic: str, event_type: str, report: dict[str, Any], keys: list[str], source_uri: str,
                      time: datetime) -> list[tuple[str, bytes, bytes]]:
    """A progress report (``ProgressV1``'s data) to each partition of ``topic``, one key per partition
    (contracts/kafka_batches.py ``keys_for_partitions``): (topic, key, value) each."""
    data = ProgressV1.model_validate(report).model_dump(mode="json")
    value = orjson.dumps(envelope_dict(data=data, type_=event_type, source=source_uri, subject=None, time=time))
    return [(topic, key.encode(), value) for key in keys]


def decode(raw: bytes | None, event_type: str, invalid: Callable[[str], Exception]) -> Envelope[ProgressV1]:
    """A report read back (its envelope: ``time`` is when it was written); ``invalid(detail)`` is raised (no values
    in it) when it is not one of ``event_type``."""
    if raw is None:
        raise invalid("message has no value")
    try:
        envelope = Envelope[ProgressV1].model_validate_json(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise invalid(f"fields {fields}") from None
    if envelope.type != event_type:
        raise invalid(f"event type is not {event_type}")
    return envelope
