"""What the clock owes: the go-live hold, which partitions the daily sweep still has to do today,
which children have had no new fact long enough to settle their absences (``absence_settle_seconds``),
and which children's assessments wait for a backlog to be through (``catch_up_after_s``).

The worker (entrypoints/worker.py) asks it on each clock tick and tells it what happened; the times
it is given are monotonic seconds, the days are the clock's ``today``. It does not know about rebalances:
the worker evaluates only the children of the partitions it holds, and stops a sweep at a rebalance."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Set
from datetime import date, datetime
from typing import NamedTuple

# Linkage's backlog shrinks when the source events not through it yet (its reports' ``unread``), summed over its
# instances, are fewer than this long before (reports come every 2 s; a batch's ups and downs are smaller than half a
# minute's work)
DRAIN_WINDOW_S = 30.0


class Report(NamedTuple):
    """A linkage instance's last progress report, as ``ClockDuties`` keeps it."""

    unread: int  # its records not handled yet
    read_at: float  # when scoring read it (monotonic seconds)
    written: float  # when linkage wrote it (linkage's clock, epoch seconds)
    left: float | None  # seconds of work ``unread`` is at its pace then; None: not known (a first report)


class ClockDuties:
    def __init__(self, publish_from: date | None = None, settle_after: float | None = None, *,
                 catch_up_after: float | None = None, catch_up_quiet: float = 10.0,
                 catch_up_max_hold: float = 300.0, catch_up_drain_hold: float | None = None) -> None:
        self.publish_from = publish_from
        self.settle_after = settle_after  # None: absences wait for the next day's sweep
        self.swept_on: dict[int, date] = {}  # partition → the day it was last swept
        self.settling: dict[str, float] = {}  # child id → when its last fact arrived (only with settle_after)
        self.catch_up_after, self.catch_up_quiet, self.catch_up_max_hold = catch_up_after, catch_up_quiet, \
            catch_up_max_hold
        self.catch_up_drain_hold = catch_up_drain_hold  # None: ``catch_up_max_hold`` whatever linkage reports
        # child id → when its first fact of a backlog was held, in that order (``held_back`` adds, never moves)
        self.caught_up: dict[str, float] = {}
        self.source_times: dict[str, str] = {}  # child id → the source time of its last held fact
        self.last_backlog = float("-inf")  # when the last fact of a backlog was held
        self.unread = False  # the worker found facts not read yet that were there when the backlog fell quiet
        self._age: tuple[str, float] = ("", 0.0)  # the last source time read, as epoch seconds
        self._unread: dict[str, Report] = {}  # linkage instance → its last report (``_upstream``)
        self._totals: deque[tuple[float, int]] = deque()  # (when, linkage's count), at most a second apart
        self._own = 0  # facts of scoring's input not read yet (``own_backlog``)
        self._heard = float("-inf")  # when linkage's last report was read
        self.drain_window = DRAIN_WINDOW_S

    @property
    def heard_for(self) -> float:
        """How long a linkage instance's last report counts: as long as a child is held without one. Slowed down
        (its disk's writes throttled at scale 1.0), linkage wrote no report for 12 s, and for 85 s in a drain's
        first minute, without having stopped; one stopped for good leaves the children to the bound."""
        return self.catch_up_max_hold

    def behind(self, child_id: str, source_time: str | None, now_epoch: float) -> bool:
        """Whether the fact belongs to a backlog: its source event reached Tsunagu more than ``catch_up_after``
        ago, or the child already waits for one to be through (a fresh fact then does not publish half of it)."""
        if self.catch_up_after is None:
            return False
        if child_id in self.caught_up:
            return True
        if not source_time:
            return False
        if self._age[0] != source_time:
            try:
                self._age = (source_time, datetime.fromisoformat(source_time).timestamp())
            except ValueError:
                return False
        return now_epoch - self._age[1] > self.catch_up_after

    def held_back(self, child_id: str, now: float, source_time: str | None = None) -> None:
        """The child's fact of a backlog was recorded, its assessment not published."""
        self.caught_up.setdefault(child_id, now)
        if source_time:
            self.source_times[child_id] = source_time
        self.last_backlog = now

    def upstream_working(self, source_time: str, now_epoch: float, now: float, *, reporter: str | None = None,
                         unread: int | None = None, written: float | None = None, records: int = 0) -> bool:
        """Linkage reports it is working through records whose source events came at ``source_time``
        (contracts/topics/linkage_facts.py, ``ProgressV1``): when that is a backlog by ``behind``'s measure, the
        backlog is not quiet, even though the records gave no facts. Whether it counted. The ``reporter``'s
        ``unread`` records tell whether the backlog shrinks (``draining``), on linkage's clock (``written``, epoch
        seconds: scoring reads the reports in bursts when it gives way to the stages before it); with the
        ``records`` it handled since its report before, whether a quiet is its end (``upstream_busy``)."""
        if reporter is not None and unread is not None:
            self._upstream(reporter, unread, now, now if written is None else written, records)
        if not self.behind("", source_time, now_epoch):
            return False
        self.last_backlog = now
        return True

    def _upstream(self, reporter: str, unread: int, now: float, written: float, records: int) -> None:
        """One instance's report (each comes on every partition: the copies change nothing, and a copy of an earlier
        report than the one kept — read late on a partition scoring has read less of — is passed over). Instances
        not heard from for ``catch_up_max_hold`` are done with their backlog, or gone: they no longer count
        (``heard_for``).
        The seconds of work its ``unread`` records are: at the pace of its ``records`` since its report before (on
        its clock); for its first report, none when no more than those records, else not known (None)."""
        reports = self._unread
        before = reports.get(reporter)
        if before is not None and written < before.written:
            # a copy of an earlier report, read late on a partition scoring has read less of: its count is no longer
            # so. Taken as the latest, it put a count 32 s old back at the end of the series, the backlog looked level
            # and 251 659 children held in a drain were published on part of their histories (pipeline_e2e, 1.0)
            return
        if before is not None and written == before.written:
            left = before.left  # a copy, or a report written within the same instant
        elif before is not None and records:
            left = unread * (written - before.written) / records
        else:
            left = 0.0 if unread <= records else None
        reports[reporter] = Report(unread, now, written, left)
        for name in [name for name, report in reports.items() if now - report.read_at > self.heard_for]:
            del reports[name]
        self._heard = now
        self._sample(sum(report.unread for report in reports.values()), written)

    def own_backlog(self, unread: int) -> None:
        """Scoring's own input not read yet (its reader's ``unread`` of linkage.facts.v1), told every tick. Linkage's
        reports come in that input, in order with its facts: while some of it is unread, no report for a while means
        scoring reads slowly (on one machine it gives way to the stages before it), not that linkage stopped."""
        self._own = unread

    def _sample(self, total: int, now: float) -> None:
        """The latest count, in a series a second apart reaching one window back."""
        totals = self._totals
        if totals and now - totals[-1][0] < self.drain_window / 30:
            totals[-1] = (totals[-1][0], total)  # the latest count, kept at most once a second
        else:
            totals.append((now, total))
        while len(totals) > 1 and totals[1][0] <= now - self.drain_window:
            totals.popleft()  # the first left is the latest at least a window old

    def upstream_unread(self, now: float) -> int:
        """Source events not through linkage yet, summed over its instances heard from (``heard_for``; 0: none)."""
        return sum(report.unread for report in self._unread.values() if now - report.read_at <= self.heard_for)

    def upstream_busy(self, now: float) -> bool:
        """Whether an instance of linkage heard from (``heard_for``) had more than ``catch_up_quiet`` of work left at
        its last report, at its pace then: a quiet now is a pause in linkage, not the backlog's end — until that work
        and a quiet more have gone by (a linkage slow at its drain's end, through since, is not waited for
        ``heard_for``). An instance with one report, more left than it handled, counts for ``drain_window``: while
        it has more to do, its next report comes within seconds (a small backlog, through before it, is not held
        300 s). At scale 1.0 linkage's writes were throttled by the disk (500 records in 12 s; 85 s without a report
        in another drain's first minute), scoring read its input to the end and took 12 s without a report for the end
        of the drain, 1.2 million records before it: the 251 659 children held were published on part of their
        histories."""
        return any(now - report.read_at <= self.drain_window if report.left is None
                   else report.left > self.catch_up_quiet
                   and now - report.read_at <= min(self.heard_for, report.left + self.catch_up_quiet)
                   for report in self._unread.values())

    def draining(self, now: float) -> bool:
        """Whether the backlog shrinks: the source events not through linkage yet (its reports, read in order with
        its facts) are fewer than ``DRAIN_WINDOW_S`` before. A pipeline that stays behind (as many source events
        coming as handled) is not draining, nor a linkage that fell silent — no report for ``heard_for`` with
        scoring's own input read (``own_backlog``): the children held ``catch_up_max_hold`` are published then."""
        totals = self._totals
        if not totals or (now - self._heard > self.heard_for and not self._own):
            return False
        first, last = totals[0], totals[-1]
        return last[0] - first[0] >= self.drain_window and last[1] < first[1]

    def drain_state(self, now: float) -> str:
        """What ``draining`` saw, for the log of a release at the bound (counts and times only)."""
        totals = self._totals
        if not totals:
            return "no count from linkage"
        return (f"linkage's count {totals[-1][1]}, {totals[0][1]} {totals[-1][0] - totals[0][0]:.0f} s before on "
                f"its clock, its last report read {now - self._heard:.0f} s ago, {self._own} facts unread here")

    def caught_up_now(self, today: date, now: float) -> list[str]:
        """The children to publish now: every one once no fact of a backlog has come for ``catch_up_quiet``,
        else those held for ``catch_up_max_hold`` already — for ``catch_up_drain_hold`` while linkage's backlog
        shrinks (``draining``) — (none while the go-live hold lasts: its sweep publishes them). They leave the list
        here; a rebalance that interrupts their evaluation leaves them to the sweep (their state says they were not
        evaluated)."""
        if not self.caught_up or self.holding(today):
            return []
        if self.through(now):
            ready = sorted(self.caught_up)
        else:  # in the order their first facts came (``held_back``): those held long enough come first, and only
            ready = []  # they are looked at (every second, while a backlog may hold every child of the city)
            longest = self.catch_up_max_hold
            if self.catch_up_drain_hold is not None and self.draining(now):
                longest = max(longest, self.catch_up_drain_hold)
            for child_id, first in self.caught_up.items():
                if now - first < longest:
                    break
                ready.append(child_id)
            ready.sort()
        for child_id in ready:
            del self.caught_up[child_id]
        return ready

    def quiet(self, now: float) -> bool:
        """No fact of a backlog has come for ``catch_up_quiet``."""
        return now - self.last_backlog >= self.catch_up_quiet

    def through(self, now: float) -> bool:
        """Whether the backlog is through: quiet, nothing left unread that was there when it fell quiet, and linkage
        not in the middle of its backlog (``upstream_busy``)."""
        return not self.unread and self.quiet(now) and not self.upstream_busy(now)

    def owes_release(self, today: date, now: float) -> bool:
        """Whether the backlog is quiet and held children wait for it to be through: the worker then asks whether
        the facts that were in its partitions when it fell quiet are read (``unread``)."""
        return bool(self.caught_up) and not self.holding(today) and self.quiet(now)

    def source_time_of(self, child_id: str) -> str | None:
        """The source time of the child's last held fact (for operators' end-to-end latency), once."""
        return self.source_times.pop(child_id, None)

    def holding(self, today: date) -> bool:
        """The go-live load: nothing is published before ``publish_from``, not by a fact, not by the clock."""
        return self.publish_from is not None and today < self.publish_from

    def due_for_sweep(self, today: date, actives: Set[int]) -> set[int]:
        """The active partitions not yet swept today (none while holding). A partition no longer active is
        forgotten, so it is swept again if it comes back."""
        if self.holding(today):
            return set()
        for partition in set(self.swept_on) - actives:
            del self.swept_on[partition]
        return {p for p in actives if self.swept_on.get(p) != today}

    def swept(self, partitions: Iterable[int], today: date) -> None:
        """The sweep of these partitions finished (an interrupted one is not reported: it is done again)."""
        self.swept_on.update(dict.fromkeys(partitions, today))

    def fact_arrived(self, child_id: str, now: float) -> None:
        """A fact for the child was handled: its absences settle once it has had none for ``settle_after``."""
        if self.settle_after is not None:
            self.settling[child_id] = now

    def ready_to_settle(self, today: date, now: float) -> list[str]:
        """The children whose last fact is ``settle_after`` old or older (none while holding). They stay listed
        until ``stop_settling``: the wiring takes them out one by one as it settles them."""
        if self.settle_after is None:
            return []
        quiet_since = now - self.settle_after
        ready = [child_id for child_id, last in self.settling.items() if last <= quiet_since]
        if not ready or self.holding(today):
            return []
        return ready

    def stop_settling(self, child_id: str) -> None:
        """The child is being settled, or was deleted: no settling is due for it until its next fact."""
        self.settling.pop(child_id, None)

    def forget(self, child_id: str) -> None:
        """The child was deleted: nothing is owed for it."""
        self.settling.pop(child_id, None)
        self.caught_up.pop(child_id, None)
        self.source_times.pop(child_id, None)
