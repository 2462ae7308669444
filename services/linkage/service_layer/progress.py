"""Whether linkage is working through a backlog, and when to say so on linkage.facts.v1 (contracts/topics/
linkage_facts.py, ``ProgressV1``).

Scoring holds a child's assessment back while its facts belong to a backlog and releases the children once its input
has been quiet for ``CATCH_UP_QUIET_S``. Linkage's records do not all give facts: in ``pipeline_e2e`` at scale 0.25
linkage's output stopped for 55 s while it linked adults' registry records, and scoring took the silence for the end
of the backlog and released 63 059 children whose histories held only their registry facts (issue 19, twenty-fifth
pass). A report every ``interval_s`` while the records linkage handles are older than ``after_s`` keeps that silence
from happening; live, nothing is written.

Each report also says how many records of linkage's input this instance has not handled yet (``unread``, from the
reader's high watermarks) and which instance it is (``reporter``, random per process): scoring holds children past its
``CATCH_UP_MAX_HOLD_S`` while that count shrinks (docs/scoring.md "Backlogs")."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any


class Progress:
    def __init__(self, interval_s: float, after_s: float) -> None:
        self.interval_s, self.after_s = interval_s, after_s
        self.records = 0  # handled since the last report (or the last look, when they were not behind)
        self.source_time: str | None = None  # the last record's, as its source handed it over
        self._reported = float("-inf")  # monotonic seconds of the last report
        self.reporter = f"linkage-{secrets.token_hex(6)}"  # this process, in its reports

    def handled(self, records: int, source_time: str | None) -> None:
        """``records`` more handled, the last of them handed over by its source at ``source_time``."""
        self.records += records
        if source_time:
            self.source_time = source_time

    def report(self, now: datetime, monotonic: float, unread: int | None = None) -> dict[str, Any] | None:
        """The report due now (``ProgressV1``'s data), if one is: records handled since the last, the interval
        gone by, and the last record older than ``after_s``. Records that were not behind are forgotten.
        ``unread``: the input's records not handled yet (the reader's ``unread``), None when not known."""
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
        return {"records": records, "source_time": source_time, "reporter": self.reporter, "unread": unread}
