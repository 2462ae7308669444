"""Scores the synthetic city through ingest, linkage and scoring, and compares the flags with the generator's truth.

    .venv/bin/python -m benchmarks.scoring_truth [--scale 0.01] [--days 365] [--noise 0] [--seed 1]
        [--rules guideline-all|fukuoka] [--examples 5] [--alerts] [--history-years N] [--signal no_contact]

Every source event of the simulated period goes, in event-time order, through the very code the workers run:
ingest's ``process`` (validation, Japanese normalisation), linkage's ``LinkageService`` (identity, households,
attribution) and scoring's ``handle_fact``; before each simulated day the scoring clock sweep runs for that day.
Scoring's "today" is the business day of the event, as it is in production.

At the end of each day, each child's raised items are compared with the truth (``simulator.truth.TruthBook``):
for every (person, item) the days flagged by scoring and the days true in the generator, from go-live (the
system cannot know anything earlier) to the end of the period or the child's 18th birthday. A linkage person is
mapped to the generator's person by its 宛名番号 key. Printed: per item, the truth spans, the child-days either side
got wrong, and a few examples of each kind of mismatch; also flags that rose and fell within one day (casework
would have alerted on them).

``--signal CODE`` switches a connection signal on (行政とのつながり; ``no_contact`` is off in the shipped files) for
the run, as a city would in its rule file: it is then compared with its truth like the others.
``--signal-param no_contact.until_age_months=72`` sets a signal's parameter; the truth of ``no_contact`` (every
child under 18) is then read up to that age.

With ``--alerts``, casework's intake takes what scoring and linkage publish, in three arrival orders, and every
child the truth flags must reach its ward exactly once, with the same alerts in every order (benchmarks/alert_truth.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from benchmarks.alert_truth import ORDERS, AlertComparison, AlertTruth, CaseworkStage, compare_alerts
from benchmarks.alert_truth import report as alert_report
from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.linkage_facts import TOPIC as FACTS_TOPIC
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, SourceMessage, process
from services.linkage.adapters.clock import SystemClock
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.adapters.memory_store import MemoryStateStore
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import CONFIG_DIR
from services.scoring.domain.rulebook import Rulebook, with_horizons
from services.scoring.service_layer.handlers import decode_fact, handle_fact, sweep_child
from services.scoring.service_layer.state import WORKING
from simulator.city import City
from simulator.events import JST
from simulator.life.engine import HISTORY_SYSTEMS, SimConfig
from simulator.population.model import age_reached_on, atena_no, person_ref
from simulator.truth import NO_CONTACT, SIGNAL_CODES, adult_day

SIGNAL_ITEM = {code: item for item, code in SIGNAL_CODES.items()}

Spans = list[tuple[int, int]]  # [from, to) in ordinal days


@dataclass
class ScoringRun:
    """What scoring published, as day-level spans per (linkage child, item)."""

    day0: int
    end: int
    current: dict[str, frozenset[int]] = field(default_factory=dict)  # after the latest message
    at_day_start: dict[str, frozenset[int]] = field(default_factory=dict)  # children touched today: before
    opened: dict[tuple[str, int], int] = field(default_factory=dict)
    spans: dict[tuple[str, int], Spans] = field(default_factory=lambda: defaultdict(list))
    raised_on: dict[tuple[str, int], str | None] = field(default_factory=dict)  # the latest message's, per flag
    span_raised_on: dict[tuple[str, int], list[str | None]] = field(default_factory=lambda: defaultdict(list))
    transient: Counter[int] = field(default_factory=Counter)  # raised and cleared within one day
    messages: int = 0

    def publish(self, child_id: str, data: dict[str, Any]) -> None:
        self.messages += 1
        if child_id not in self.at_day_start:
            self.at_day_start[child_id] = self.current.get(child_id, frozenset())
        before = self.current.get(child_id, frozenset())
        raised = [(f["item"], f) for f in data["after"]["flags"]] + \
                 [(SIGNAL_ITEM[s["code"]], s) for s in data["after"].get("signals", ())]  # 行政とのつながり
        after = frozenset(item for item, _ in raised)
        for item, flag in raised:
            self.raised_on[(child_id, item)] = flag["raised_on"]
        for item in before - after:
            if item not in self.at_day_start[child_id]:
                self.transient[item] += 1
        self.current[child_id] = after

    def end_of_day(self, day: int) -> None:
        for child_id, before in self.at_day_start.items():
            after = self.current.get(child_id, frozenset())
            for item in after - before:
                self.opened[(child_id, item)] = day
                self.span_raised_on[(child_id, item)].append(self.raised_on.get((child_id, item)))
            for item in before - after:
                start = self.opened.pop((child_id, item))
                if start < day:  # raised and cleared again on later days; same-day ones are transient
                    self.spans[(child_id, item)].append((start, day))
        self.at_day_start.clear()

    def finish(self) -> None:
        for (child_id, item), start in self.opened.items():
            self.spans[(child_id, item)].append((start, self.end))
        self.opened.clear()


def _events_by_day(city: City) -> Iterator[tuple[int, list[Any]]]:
    day: int | None = None
    batch: list[Any] = []
    for event in city.events():
        d = event.time.astimezone(JST).date().toordinal()
        if d != day and batch:
            yield day, batch  # type: ignore[misc]
            batch = []
        day = d
        batch.append(event)
    if batch:
        yield day, batch  # type: ignore[misc]


WARD_RECORDS = frozenset({"resident_registry.person.registered", "resident_registry.person.changed"})


class RecordOwners:
    """The generator's record truth (which real persons each event is about), kept for the oracle clerk; and who
    has been placed in a ward: 住民記録's records are the only source that names one (a newborn has none until its
    出生届, filed 1–14 days after the birth)."""

    def __init__(self) -> None:
        self.persons: dict[str, set[str]] = {}
        self.placed: set[str] = set()  # person refs named by a 住民記録 record carrying the ward

    def write(self, line: str) -> None:
        row = orjson.loads(line)
        self.persons[row["id"]] = set(row["persons"].values())
        if row["type"] in WARD_RECORDS:
            self.placed.update(row["persons"].values())


class AtenaOfRef(dict[str, str]):
    """``T00000042`` → that person's 宛名番号, for every person the generator makes (also those born or moving in
    during the run, who are not in the population when it starts)."""

    def __missing__(self, ref: str) -> str:
        return atena_no(int(ref.removeprefix("T")))


class ColdStore(ChangelogStore):
    """``--cold``: the worker's store (adapters/changelog_store.py) keeping no child decoded: every write is flushed
    at once (the messages encoded, not sent) and the child goes cold, so its next fact or sweep starts from the
    compressed changelog bytes — the path of a child not used lately in a city larger than the hot set."""

    def __init__(self) -> None:
        super().__init__("scoring-child-state-changelog", hot_capacity=0, on_evict=WORKING.forget)

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        super().put(child_id, state, partition)

        async def send(*_args: Any, **_kwargs: Any) -> None:
            return None

        try:
            self.flush(send).send(None)  # nothing in it waits
        except StopIteration:
            pass

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        return self.data


@dataclass
class Pipeline:
    rulebook: Rulebook
    dedup: MemoryDedupStore = field(default_factory=MemoryDedupStore)
    store: MemoryStateStore | ColdStore = field(default_factory=MemoryStateStore)
    linkage_state: LinkageState = field(default_factory=LinkageState)
    counts: Counter[str] = field(default_factory=Counter)
    casework: list[CaseworkStage] = field(default_factory=list)  # with --alerts: one per arrival order
    alert_results: list[AlertComparison] = field(default_factory=list)

    def __post_init__(self) -> None:
        registry = CollectorRegistry()
        self.ingest_metrics = IngestMetrics(registry)
        self.linkage = LinkageService(self.linkage_state, None, LinkageMetrics(registry), MatchSettings(),
                                      "/tsunagu/linkage", clock=SystemClock())

    def clerk(self, today: date, run: ScoringRun, owners: RecordOwners, atena_of_ref: AtenaOfRef,
              hold: bool) -> None:
        """Decides the day's open reviews as a careful clerk would (with the generator's truth), through linkage's
        decision handler, the same day: a record the matcher could not place reaches the right child."""
        for review in [r for r in self.linkage_state.reviews.values() if not r.decided]:
            refs = owners.persons.get(review.record_id, set())
            atena = atena_of_ref[next(iter(refs))] if len(refs) == 1 else None
            owner = self.linkage_state.key_owner.get(f"atena:{atena}") if atena else None
            decision = {"review_id": review.review_id, "decision": "must_link" if owner else "cannot_link",
                        "person_id": owner, "decided_by": "oracle-clerk", "reason": "scoring_truth",
                        "decided_at": f"{today.isoformat()}T17:00:00+09:00"}
            self.counts[f"clerk {decision['decision']}"] += 1
            self._facts(self.linkage.handle_decisions(
                [Incoming(orjson.dumps(decision), None, "linkage.review.decisions.v1", 0, 0)]), today, run, hold)

    def sweep(self, today: date, run: ScoringRun) -> None:
        for child_id, raw in list(self.store.states.items()):
            published = sweep_child(child_id, raw, store=self.store, rulebook=self.rulebook, today=today)
            if published is not None:
                run.publish(child_id, published.envelope["data"])
                for stage in self.casework:
                    stage.add("flags", published.value)

    def event(self, n: int, event: Any, today: date, run: ScoringRun, hold: bool) -> None:
        outcome = process(SourceMessage(event.topic, 0, n, event.key.encode(), event.encode()),
                          dedup=self.dedup, metrics=self.ingest_metrics, max_event_bytes=1 << 20)
        if not isinstance(outcome, Accepted):
            self.counts[f"ingest {type(outcome).__name__.lower()}"] += 1
            return
        self.dedup.confirm(outcome.dedup_key)
        self.counts["records"] += 1
        self._facts(self.linkage.handle_records([Incoming(outcome.value, outcome.key, "ingest.records.v1", 0, n)]),
                    today, run, hold)

    def _facts(self, messages: list[tuple[int, Any]], today: date, run: ScoringRun, hold: bool) -> None:
        for _, (topic, key, value, _headers) in messages:
            if topic != FACTS_TOPIC.name:
                self.counts[f"linkage → {topic}"] += 1
                if topic == CHILDREN_TOPIC.name:
                    for stage in self.casework:
                        stage.add("profile", value)
                continue
            self.counts["facts"] += 1
            event_id, fact = decode_fact(value, key)
            _, published = handle_fact(fact, event_id=event_id, partition=0, store=self.store,
                                       rulebook=self.rulebook, today=today, hold=hold)
            if published is not None:
                run.publish(fact.child_id, published.envelope["data"])
                for stage in self.casework:
                    stage.add("flags", published.value)


@dataclass
class Comparison:
    items: list[int]
    truth_spans: Counter[int] = field(default_factory=Counter)
    scored_spans: Counter[int] = field(default_factory=Counter)
    exact: Counter[int] = field(default_factory=Counter)
    raised_on_differs: Counter[int] = field(default_factory=Counter)  # right days, but the flag's date is not
                                                                      # when the truth began
    missing_days: Counter[int] = field(default_factory=Counter)  # true, not flagged
    extra_days: Counter[int] = field(default_factory=Counter)  # flagged, not true
    unmapped: Counter[str] = field(default_factory=Counter)
    examples: dict[tuple[int, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def mismatched_days(self) -> int:
        return sum(self.missing_days.values()) + sum(self.extra_days.values())


def _days(spans: Spans) -> set[int]:
    return {d for start, stop in spans for d in range(start, stop)}


def _fmt(spans: Spans) -> str:
    return ", ".join(f"{date.fromordinal(a)}…{date.fromordinal(b)}" for a, b in spans) or "—"


def _no_contact_until(rulebook: Rulebook) -> int | None:
    """The age (months) up to which the run's rule file reads 行政との接点なし, if it bounds it."""
    return next((r.params.until_age_months for r in rulebook.rules.enabled if r.item == NO_CONTACT), None)


def compare(city: City, pipeline: Pipeline, run: ScoringRun, items: list[int], examples: int) -> Comparison:
    sim = city.sim
    no_contact_until = _no_contact_until(pipeline.rulebook)
    persons = sim.pop.persons
    pid_of_atena = {p.atena_no: p.pid for p in persons}
    result = Comparison(items)
    first = run.day0 + 1  # the morning after the go-live load: what the systems held is all in
    scored: dict[tuple[int, int], Spans] = {}
    scored_since: dict[tuple[int, int], list[str | None]] = {}
    for (child_id, item), spans in run.spans.items():
        person = pipeline.linkage_state.resolve(child_id)
        atenas = sorted(k.removeprefix("atena:") for k in (person.keys if person else {}) if k.startswith("atena:"))
        if len(atenas) != 1 or atenas[0] not in pid_of_atena:
            result.unmapped["no 宛名番号" if not atenas else "several 宛名番号"] += 1
            result.extra_days[item] += len(_days(spans))
            continue
        kept = [((max(a, first), b), since) for (a, b), since in zip(spans, run.span_raised_on[(child_id, item)],
                                                                     strict=True) if b > first]
        if not kept:  # raised on the go-live day and gone by the morning after: counted as transient
            continue
        scored.setdefault((pid_of_atena[atenas[0]], item), []).extend(span for span, _ in kept)
        scored_since.setdefault((pid_of_atena[atenas[0]], item), []).extend(since for _, since in kept)
    truth: dict[tuple[int, int], Spans] = {}
    truth_since: dict[tuple[int, int], list[str]] = {}
    for (pid, item), true_spans in sim.truth.intervals.items():  # from when the data show it
        if item not in items:
            continue
        adult = adult_day(persons[pid])
        if item == NO_CONTACT and no_contact_until is not None:  # the rule file keeps it to young children
            adult = min(adult, age_reached_on(persons[pid].birth, no_contact_until))
        clipped = []
        for start, stop, known in true_spans:
            assert start is not None and known is not None
            a, b = max(start, known, first), min(stop if stop is not None else run.end, adult, run.end)
            if a < b:
                clipped.append((a, b))
                truth_since.setdefault((pid, item), []).append(date.fromordinal(start).isoformat())
        if clipped:
            truth[(pid, item)] = clipped
    for key in sorted(set(truth) | set(scored)):
        pid, item = key
        t, s = truth.get(key, []), sorted(scored.get(key, []))
        result.truth_spans[item] += len(t)
        result.scored_spans[item] += len(s)
        td, sd = _days(t), _days(s)
        if td == sd:
            result.exact[item] += len(t)
            since, raised = truth_since.get(key, []), scored_since.get(key, [])
            if since != raised:
                result.raised_on_differs[item] += 1
                if len(result.examples[(item, "raised_on")]) < examples:
                    result.examples[(item, "raised_on")].append(
                        f"{persons[pid].atena_no} born {persons[pid].birth_date}: true since {since}; "
                        f"the flag says {raised}")
            continue
        missing, extra = len(td - sd), len(sd - td)
        result.missing_days[item] += missing
        result.extra_days[item] += extra
        kind = "missing" if not sd else "extra" if not td else "different"
        if len(result.examples[(item, kind)]) < examples:
            result.examples[(item, kind)].append(
                f"{persons[pid].atena_no} born {persons[pid].birth_date}: truth {_fmt(t)}; scoring {_fmt(s)}")
    return result


def alert_expectations(city: City, pipeline: Pipeline, run: ScoringRun, items: list[int], owners: RecordOwners,
                       ) -> AlertTruth:
    """From the truth: the linkage children flagged during the period (from the morning after go-live), those
    flagged at any time, each child's household ward at the end (None when the child left the city), and the
    flagged children no 住民記録 record has placed in a ward by the end (their listing can only be held)."""
    persons = city.sim.pop.persons
    expected: dict[str, str | None] = {}
    ever: set[str] = set()
    ward_at_end: dict[str, str | None] = {}
    unplaced: set[str] = set()
    first = run.day0 + 1
    for (pid, item), spans in city.sim.truth.intervals.items():
        if item not in items:
            continue
        person = persons[pid]
        owner = pipeline.linkage_state.key_owner.get(f"atena:{person.atena_no}")
        resolved = pipeline.linkage_state.resolve(owner) if owner else None
        if resolved is None:
            continue
        child_id = resolved.person_id
        ever.add(child_id)
        ward_at_end[child_id] = person.household.ward_code if person.resident and person.household else None
        if person_ref(pid) not in owners.placed:
            unplaced.add(child_id)
        adult = adult_day(person)
        for start, stop, known in spans:
            assert start is not None and known is not None
            if max(start, known, first) < min(stop if stop is not None else run.end, adult, run.end):
                expected[child_id] = person.atena_no
    return AlertTruth(expected, ever, ward_at_end, unplaced)


def go_live_horizon(rulebook: Rulebook, start: date, history_years: int | None) -> tuple[Rulebook, date | None]:
    """A go-live that loads only ``history_years`` of history: the simulator leaves out what 母子保健 and
    子ども・子育て支援 recorded before then (``HISTORY_SYSTEMS``) and the rule file is given that data horizon for
    both. Without it, the rule file's own horizon (if any) is simulated: one day for both systems."""
    if history_years is None:
        declared = {rulebook.horizons.get(system) for system in HISTORY_SYSTEMS}
        if len(declared) > 1:
            raise SystemExit(f"the simulation loads {', '.join(HISTORY_SYSTEMS)} from one day; the rule file's "
                             f"[data_horizons] gives {sorted(str(d) for d in declared)}")
        return rulebook, declared.pop()
    since = date(start.year - history_years, start.month, min(start.day, 28))
    return with_horizons(rulebook, {**rulebook.horizons, **dict.fromkeys(HISTORY_SYSTEMS, since)},
                         f"go-live-{history_years}y"), since


def with_signals(rulebook: Rulebook, codes: tuple[str, ...],
                 params: Mapping[str, Mapping[str, Any]] | None = None) -> Rulebook:
    """The rule file with these connection signals switched on (``enabled = true``, as a city would set it), and
    ``params`` (by code) set on them."""
    params = params or {}
    unknown = (set(codes) | set(params)) - set(SIGNAL_ITEM)
    if unknown:
        raise SystemExit(f"unknown signal(s) {sorted(unknown)}; known: {sorted(SIGNAL_ITEM)}")
    items = {SIGNAL_ITEM[code] for code in codes}
    rules = []
    for r in rulebook.rules.rules:
        code = SIGNAL_CODES.get(r.item)
        if code is not None and code in params:  # __post_init__ checks them as the loader does
            r = dataclasses.replace(r, params=dataclasses.replace(r.params, **params[code]))
        rules.append(dataclasses.replace(r, enabled=True) if r.item in items else r)
    tag = "+".join([*sorted(codes), *(f"{c}.{k}={v}" for c, p in sorted(params.items()) for k, v in sorted(p.items()))])
    return dataclasses.replace(rulebook, rules=dataclasses.replace(
        rulebook.rules, rules=rules, version=f"{rulebook.rules.version}+{tag}", _reading={}))


def _signal_params(pairs: list[str]) -> dict[str, dict[str, int]]:
    """``no_contact.until_age_months=72`` → {"no_contact": {"until_age_months": 72}} (integer parameters)."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for pair in pairs:
        name, _, value = pair.partition("=")
        code, _, param = name.partition(".")
        if not (code and param and value.lstrip("-").isdigit()):
            raise SystemExit(f"--signal-param {pair!r}: expected CODE.PARAM=INTEGER")
        out[code][param] = int(value)
    return dict(out)


def run_comparison(scale: float, days: int, noise: float, seed: int, rules: str, examples: int,
                   start: date = date(2025, 4, 1), hold: bool = True, alerts: bool = False,
                   history_years: int | None = None, signals: tuple[str, ...] = (),
                   signal_params: Mapping[str, Mapping[str, Any]] | None = None, cold: bool = False,
                   ) -> tuple[Comparison, ScoringRun, Pipeline, dict[str, float]]:
    rulebook = load_rulebook(CONFIG_DIR / f"{rules}.toml")
    if signals or signal_params:
        rulebook = with_signals(rulebook, signals, signal_params)
    rulebook, history_from = go_live_horizon(rulebook, start, history_years)
    items = sorted(r.item for r in rulebook.rules.enabled)
    timings: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    owners = RecordOwners()
    city = City(SimConfig(seed=seed, scale=scale, start=start, days=days, noise_level=noise,
                          history_from=history_from), record_truth=owners)  # type: ignore[arg-type]  # only write() is used
    atena_of_ref = AtenaOfRef()  # persons who move in during the run are created as it goes
    pipeline = Pipeline(rulebook, casework=[CaseworkStage(order) for order in ORDERS] if alerts else [],
                        store=ColdStore() if cold else MemoryStateStore())
    run = ScoringRun(city.sim.day0, city.sim.end)
    n = 0
    by_day = _events_by_day(city)
    pending = next(by_day, None)
    for day in range(run.day0, run.end):  # every day, quiet ones too: the clock moves on
        today = date.fromordinal(day)
        pipeline.sweep(today, run)
        while pending is not None and pending[0] == day:
            for event in pending[1]:
                pipeline.event(n, event, today, run, hold=hold and day == run.day0)
                n += 1
            pending = next(by_day, None)
        pipeline.clerk(today, run, owners, atena_of_ref, hold=hold and day == run.day0)
        run.end_of_day(day)
        for stage in pipeline.casework:
            stage.end_of_day(today)
    assert pending is None, "events after the end of the period"
    run.finish()
    pipeline.counts["events"] = n
    timings["wall_s"], timings["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    if pipeline.casework:
        truth = alert_expectations(city, pipeline, run, [i for i in items if i < 100], owners)
        pipeline.alert_results = [compare_alerts(stage, truth) for stage in pipeline.casework]
    return compare(city, pipeline, run, items, examples), run, pipeline, timings


def report(result: Comparison, run: ScoringRun, pipeline: Pipeline, timings: dict[str, float]) -> str:
    lines = [f"events {pipeline.counts['events']:,}, records {pipeline.counts['records']:,}, facts "
             f"{pipeline.counts['facts']:,}, flag messages {run.messages:,}; "
             f"{timings['wall_s']:.1f} s wall, {timings['cpu_s']:.1f} s CPU"]
    lines += [f"  {k}: {v:,}" for k, v in sorted(pipeline.counts.items()) if k not in ("events", "records", "facts")]
    lines.append(f"{'item':>4} {'truth spans':>11} {'scored':>7} {'exact':>7} {'missing days':>12} "
                 f"{'extra days':>10} {'transient':>9} {'raised_on differs':>17}")
    for item in result.items:
        if item in SIGNAL_CODES:
            lines.append(f"     signal {item} {SIGNAL_CODES[item]} (行政とのつながり):")
        lines.append(f"{item:>4} {result.truth_spans[item]:>11,} {result.scored_spans[item]:>7,} "
                     f"{result.exact[item]:>7,} {result.missing_days[item]:>12,} {result.extra_days[item]:>10,} "
                     f"{run.transient[item]:>9,} {result.raised_on_differs[item]:>17,}")
    lines.append(f"{'all':>4} {sum(result.truth_spans.values()):>11,} {sum(result.scored_spans.values()):>7,} "
                 f"{sum(result.exact.values()):>7,} {sum(result.missing_days.values()):>12,} "
                 f"{sum(result.extra_days.values()):>10,} {sum(run.transient.values()):>9,} "
                 f"{sum(result.raised_on_differs.values()):>17,}")
    for reason, count in result.unmapped.items():
        lines.append(f"flag spans on a linkage person with {reason}: {count:,}")
    for (item, kind), shown in sorted(result.examples.items()):
        lines.append(f"item {item} {kind}:")
        lines += [f"    {line}" for line in shown]
    verdict = "EXACT" if result.mismatched_days == 0 and not result.unmapped else \
        f"MISMATCH: {result.mismatched_days:,} child-days"
    lines.append(f"scoring vs ground truth: {verdict}")
    if pipeline.alert_results:
        lines += alert_report(pipeline.alert_results)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules", default="guideline-all", choices=["guideline-all", "fukuoka"])
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--alerts", action="store_true",
                        help="also run casework's intake in three arrival orders and compare the alerts with the truth")
    parser.add_argument("--no-hold", action="store_true",
                        help="publish during the go-live load (TSUNAGU_SCORING_PUBLISH_FROM unset): shows the flicker")
    parser.add_argument("--history-years", type=int, default=None,
                        help="the go-live loads only this many years of 母子保健 and 子ども・子育て支援 history "
                             "(their data horizon)")
    parser.add_argument("--signal", action="append", default=[], choices=sorted(SIGNAL_ITEM),
                        help="switch this connection signal on for the run (repeatable), e.g. no_contact")
    parser.add_argument("--signal-param", action="append", default=[], metavar="CODE.PARAM=N",
                        help="set a connection signal's integer parameter (repeatable), e.g. "
                             "no_contact.until_age_months=72")
    parser.add_argument("--cold", action="store_true",
                        help="keep scoring's state in the worker's store with no child decoded between updates "
                             "(each next fact or sweep decodes it from the compressed changelog bytes)")
    args = parser.parse_args()
    result, run, pipeline, timings = run_comparison(args.scale, args.days, args.noise, args.seed, args.rules,
                                                    args.examples, hold=not args.no_hold, alerts=args.alerts,
                                                    history_years=args.history_years,
                                                    signals=tuple(args.signal),
                                                    signal_params=_signal_params(args.signal_param),
                                                    cold=args.cold)
    print(report(result, run, pipeline, timings))
    print(orjson.dumps({"mismatched_child_days": result.mismatched_days}).decode())


if __name__ == "__main__":
    main()
