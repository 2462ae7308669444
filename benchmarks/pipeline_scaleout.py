"""Scale-out on Kafka consumer groups (issue 19): the same city through one instance of every service and through N
instances of ingest, scoring and the casework worker must give the same flags and alerts.

    .venv/bin/python -m benchmarks.pipeline_scaleout [--scale 0.002] [--days 120] [--instances 2 3] \\
        [--port 29792] [--pg-port 25832] [--singles 2]

Runs, each on a broker of its own (``benchmarks.pipeline_chaos``'s runner: same seed, same city, same ids): the
single-instance configuration ``--singles`` times (its run-to-run variation is the noise a difference must be
told from: linkage's matching and the items an alert records depend on arrival order, docs/scaling.md), then for
each N of ``--instances`` one run with N instances of ingest, scoring and the casework worker in their groups.
**Linkage stays one instance** (docs/linkage.md: its registry spans all partitions, a second member would see
only its partitions' records). Each instance has its own ``DATA_DIR``, metrics port 0 and a static group instance
id (``chaos-<service>-<i>``); the casework instances share one PostgreSQL database (SQLite is one instance on one
machine): ``deploy/postgres/pg.sh`` on ``--pg-port``, a fresh schema per run (dropped after it), the server stopped
at the end.

Printed per run: how each group's partitions were split when it drained (the group description: per member, its
partitions per topic) and each instance's successive assignments (its log's "N partitions assigned" lines);
casework's gaps (a listing held although the ward is known; a child in a tier with a ward, not supported by
児童相談所, never alerted); the final flags and casework's alerts (child, ward, tier, items, reason) compared with
the first single run: children whose final flags differ, children lost (flagged in one run, not in the other),
alerts lost or extra, alert ids published more than once; each differing child's flags, alerts, linkage status and
truth in both runs.

Ground truth (the simulator's ``--truth``, written by the first run): the children the truth flags on
``--today`` (the last simulated day by default) with an item the rule file enables, mapped to linkage's children
by their 宛名番号 (linkage's own store after the run), and per run how many of them have flags and how many reached
casework (an alert). Not an exact comparison: these runs have noise and no clerk deciding linkage's reviews
(``benchmarks/scoring_truth.py`` is the exact one, day by day, through the handlers). Scoring concludes absences
(items 3, 16) at the next day's clock sweep, which a fixed ``TODAY`` never brings: ``--settle-s 3`` sets
``ABSENCE_SETTLE_SECONDS`` (conclude once a child's facts stopped that long, checked every min(5, s) s), as
``make run`` does; keep it short enough for the drain's 10 s of quiet to see its output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from kafka import KafkaAdminClient

from benchmarks.pipeline_chaos import ROOT, SERVICES, Run, digest, execute, linkage_build
from services.linkage.adapters.store import SqliteStore
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import FUKUOKA_RULES

SCALED = ("ingest", "scoring", "casework")  # linkage: one instance by design
Alert = tuple[Any, ...]


@dataclass
class Outcome:
    name: str
    instances: int
    elapsed_s: float
    flags: dict[str, list[int]]
    alerts: list[Alert]
    published: Counter[str]
    split: dict[str, list[str]]  # service → one line per member
    assignments: dict[str, str]  # instance → its successive assignments' partition counts
    atena: dict[str, str]  # linkage child id → 宛名番号 (persons with exactly one)
    status: dict[str, str]  # linkage child id → resident, left, merged
    gaps: tuple[int, int] = (0, 0)  # casework_gaps: held with a ward known, in a tier and never alerted

    @property
    def twice(self) -> int:
        return sum(n - 1 for n in self.published.values() if n > 1)


# -- PostgreSQL (deploy/postgres/pg.sh on a port of our own) --------------------------------------------------------
def pg(action: str, port: int) -> str:
    out = subprocess.run([str(ROOT / "deploy/postgres/pg.sh"), action], env={**os.environ, "PG_PORT": str(port)},
                         check=True, capture_output=True, text=True, timeout=300)
    return out.stdout.strip()


def fresh_schema(url: str, name: str) -> str:
    """A new schema (as tests/conftest.py makes them); the URL puts it first on the search path."""
    schema = f"scaleout_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{schema}"


def drop_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(url.split("?")[0])
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def casework_gaps(url: str) -> tuple[int, int]:
    """What casework should not be left with, whatever the arrival order: listings still held for a child whose
    ward is known, and children in a tier with a ward, not supported by 児童相談所, and never alerted (the alert
    policy raises for those; a lost update between two instances writing one child's row would leave one)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            held = db.execute(sa.text(
                "SELECT count(*) FROM children WHERE ward_code IS NOT NULL AND pending_alert IS NOT NULL "
                "AND CAST(pending_alert AS TEXT) <> 'null'")).scalar_one()
            unalerted = db.execute(sa.text(
                "SELECT count(*) FROM children c WHERE c.tier IS NOT NULL AND c.ward_code IS NOT NULL "
                "AND NOT c.supported_by_child_guidance "
                "AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.child_id = c.child_id)")).scalar_one()
    finally:
        engine.dispose()
    return int(held), int(unalerted)


# -- what the group and the instances say ---------------------------------------------------------------------------
def describe_split(run: Run) -> dict[str, list[str]]:
    """Per service, one line per group member: its (static) instance id and its partitions per topic."""
    admin = KafkaAdminClient(bootstrap_servers=run.bootstrap, request_timeout_ms=10000)
    try:
        groups = admin.describe_groups([f"chaos-{s}" for s in SERVICES])
    finally:
        admin.close()
    split: dict[str, list[str]] = {}
    for service in SERVICES:
        lines = []
        for member in groups[f"chaos-{service}"]["members"]:
            who = member.get("group_instance_id") or member["client_id"]
            parts = _assigned(member.get("member_assignment"))
            lines.append(f"{who}: {_fmt_parts(parts)}")
        split[service] = sorted(lines)
    return split


def _assigned(assignment: Any) -> dict[str, list[int]]:
    """The member's partitions per topic from the decoded assignment (kafka-python's to_dict of it)."""
    if isinstance(assignment, dict):
        pairs = assignment.get("assigned_partitions") or assignment.get("assignment") or []
    else:
        pairs = getattr(assignment, "assigned_partitions", None) or []
    out: dict[str, list[int]] = {}
    for pair in pairs:
        topic, partitions = (pair["topic"], pair["partitions"]) if isinstance(pair, dict) else pair
        out[topic] = sorted(partitions)
    return out


def _fmt_parts(parts: dict[str, list[int]]) -> str:
    total = sum(len(p) for p in parts.values())
    if len(parts) > 4:  # ingest's 16 source topics: counts only
        return f"{total} partitions of {len(parts)} topics"
    return f"{total} partitions: " + ", ".join(f"{t} {p}" for t, p in sorted(parts.items()))


def assignments(run: Run) -> dict[str, str]:
    """Per instance, the partition counts of its successive assignments (its log's "N partitions assigned"
    lines, in order): an instance that joined first holds everything until the others join."""
    out = {}
    for log in sorted(run.workdir.glob("*.log")):
        counts = [m.group(1) for line in log.read_text(errors="replace").splitlines()
                  if (m := re.search(r"tsunagu\.kafka\b.*?\b(\d+) partitions assigned", line))]
        out[log.stem] = "→".join(counts) or "none"
    return out


def linkage_children(run: Run) -> tuple[dict[str, str], dict[str, str]]:
    """From linkage's store (the run's single linkage instance): child id → its 宛名番号 (persons with exactly one),
    and child id → its status (resident, left, merged)."""
    files = sorted((run.workdir / "linkage").glob("*.db")) + sorted((run.workdir / "linkage").glob("*.sqlite3"))
    if len(files) != 1:
        return {}, {}
    store = SqliteStore(f"sqlite:///{files[0]}")
    state = store.loaded()
    store.engine.dispose()
    atena: dict[str, str] = {}
    status: dict[str, str] = {}
    for key, owner in state.key_owner.items():
        if key.startswith("atena:"):
            person = state.resolve(owner)
            atenas = {k for k in (person.keys if person else ()) if k.startswith("atena:")}
            if person is not None and len(atenas) == 1:
                atena[owner] = key.removeprefix("atena:")
                status[owner] = person.status
    return atena, status


# -- ground truth -----------------------------------------------------------------------------------------------------
@dataclass
class Truth:
    today: dict[str, set[int]]  # 宛名番号 → items true (and known) on the evaluation day
    ever: dict[str, set[int]]  # 宛名番号 → items true and known on some day from the morning after go-live on


def read_truth(truth: Path, start: date, today: date) -> Truth:
    """The simulator's flags (items 1–19; the connection signals are not in a flags message's ``flags``) that
    the rule file enables. ``ever`` counts a span from the morning after the go-live load (what the systems held
    is all in then, as benchmarks/scoring_truth.py compares) to ``today``."""
    enabled = {r.item for r in load_rulebook(FUKUOKA_RULES).rules.enabled if r.item < 100}
    day, first = today.isoformat(), (start + timedelta(days=1)).isoformat()
    out = Truth({}, {})
    for line in (truth / "flags.jsonl").read_text(encoding="utf-8").splitlines():
        span = json.loads(line)
        if span["item"] not in enabled:
            continue
        begins = max(span["from"], span.get("known_from") or span["from"], first)
        ends = span["to"] or "9999-12-31"  # exclusive
        if begins <= day and begins < ends:
            out.ever.setdefault(span["atena_no"], set()).add(span["item"])
            if day < ends:
                out.today.setdefault(span["atena_no"], set()).add(span["item"])
    return out


# -- one run ----------------------------------------------------------------------------------------------------------
def one_run(name: str, n: int, args: argparse.Namespace, pg_url: str, truth: Path | None) -> Outcome:
    instances = {s: n for s in SCALED}
    split: dict[str, list[str]] = {}

    def drained(run: Run) -> None:
        split.update(describe_split(run))

    url = fresh_schema(pg_url, name)
    try:
        run, flags, alerts, published, elapsed = execute(
            name, args, False, instances=instances, database_url=url, truth=truth, log_level="info",
            drained=drained)
        gaps = casework_gaps(url)
    finally:
        drop_schema(url)
    atena, status = linkage_children(run)
    outcome = Outcome(name, n, elapsed, flags, alerts, published, split, assignments(run), atena, status, gaps)
    (run.workdir / "outcome.json").write_text(json.dumps(
        {"flags": flags, "alerts": alerts, "published": published, "split": split, "atena": atena,
         "status": status}, ensure_ascii=False, default=list))
    print(f"  ({name}: logs and outcome.json in {run.workdir})", flush=True)
    return outcome


def report_run(o: Outcome, truth: Truth | None, today: str) -> None:
    flagged = {c for c, items in o.flags.items() if items}
    print(f"\n{o.name} ({o.instances} × {', '.join(SCALED)}; linkage 1): drained in {o.elapsed_s:.0f} s; children "
          f"with flags messages {len(o.flags):,}, flagged now {len(flagged):,} (digest {digest(o.flags)}); alerts "
          f"{len(o.alerts):,} (digest {digest(o.alerts)}); alert ids published twice {o.twice}", flush=True)
    print(f"  casework: listings held although the ward is known {o.gaps[0]}; children in a tier with a ward, "
          f"not supported by 児童相談所, never alerted {o.gaps[1]}")
    for service, lines in o.split.items():
        print(f"  {service} group at drain: " + "; ".join(lines))
    print("  partitions per assignment, per instance (from its log): "
          + ", ".join(f"{k} {v}" for k, v in o.assignments.items()))
    if truth is None:
        return
    by_atena = {a: c for c, a in o.atena.items()}
    alerted = {row[0] for row in o.alerts}
    for label, held in (("on " + today, truth.today), ("at some day of the period", truth.ever)):
        mapped = {a for a in held if a in by_atena}
        print(f"  truth, flagged {label}: {len(held)} children, {len(mapped)} known to linkage by 宛名番号; of "
              f"them flagged now {sum(by_atena[a] in flagged for a in mapped)}, reached casework (an alert) "
              f"{sum(by_atena[a] in alerted for a in mapped)}")
    untrue = {c for c in alerted if o.atena.get(c) not in truth.ever}
    print(f"  alerted children the truth never flags: {len(untrue)}")
    missed: Counter[int] = Counter()  # items the truth holds today that the final flags do not, and back
    extra: Counter[int] = Counter()
    for c in set(o.atena) & (flagged | {by_atena.get(a, "") for a in truth.today}):
        have, true = set(o.flags.get(c) or ()), truth.today.get(o.atena[c], set())
        missed.update(true - have)
        extra.update(have - true)
    print(f"  on {today}: truth items not in the final flags {dict(sorted(missed.items()))}; final flag items "
          f"the truth does not hold {dict(sorted(extra.items()))}")


def compare(ref: Outcome, other: Outcome, show: int, truth: Truth | None) -> bool:
    differ = sorted(c for c in set(ref.flags) | set(other.flags) if ref.flags.get(c) != other.flags.get(c))
    lost = sorted(c for c in ref.flags if ref.flags[c] and not other.flags.get(c))
    gained = sorted(c for c in other.flags if other.flags[c] and not ref.flags.get(c))
    a_ref, a_other = set(ref.alerts), set(other.alerts)
    a_lost, a_extra = sorted(a_ref - a_other), sorted(a_other - a_ref)
    same = not differ and not a_lost and not a_extra
    print(f"{other.name} vs {ref.name}: final flags differ for {len(differ)} children (lost {len(lost)}, "
          f"gained {len(gained)}); alerts lost {len(a_lost)}, extra {len(a_extra)}; alert ids published twice "
          f"{other.twice}: " + ("IDENTICAL" if same else "DIFFERENT"))
    children = sorted(set(differ) | {row[0] for row in a_lost + a_extra})
    for child in children[:show]:
        atena = ref.atena.get(child) or other.atena.get(child)
        seen = (f"truth: items {sorted(truth.ever.get(atena, ()))} at some day, {sorted(truth.today.get(atena, ()))}"
                " at the end" if truth is not None and atena else "no 宛名番号")
        print(f"  child {child} (linkage status {ref.status.get(child)} / {other.status.get(child)}; {seen}):")
        print(f"    flags {ref.name}: {ref.flags.get(child)}; {other.name}: {other.flags.get(child)}")
        print(f"    alerts {ref.name}: {[r[1:] for r in ref.alerts if r[0] == child]}")
        print(f"    alerts {other.name}: {[r[1:] for r in other.alerts if r[0] == child]}")
    if len(children) > show:
        print(f"  ... and {len(children) - show} more children")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2025-04-01", help="the simulator's day 0 (its default)")
    parser.add_argument("--instances", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--singles", type=int, default=2, help="runs of the single-instance configuration")
    parser.add_argument("--port", type=int, default=29792)
    parser.add_argument("--pg-port", type=int, default=25832)
    parser.add_argument("--today", help="scoring's fixed evaluation date (default: the last simulated day)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--show", type=int, default=10, help="differing children shown per comparison")
    parser.add_argument("--settle-s", type=float, help="scoring's ABSENCE_SETTLE_SECONDS (default: none, absences "
                                                       "wait for a clock sweep, which a fixed TODAY never runs again)")
    parser.add_argument("--pure-python", action="store_true",
                        help="run linkage without its compiled build (refused by default: make native builds it)")
    args = parser.parse_args()
    print(linkage_build(parser, args.pure_python), flush=True)
    if args.settle_s:  # every service process inherits it (Run.env starts from this environment)
        os.environ["TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS"] = str(args.settle_s)
    args.today = args.today or (date.fromisoformat(args.start) + timedelta(days=args.days - 1)).isoformat()
    truth_dir = ROOT / "var" / f"scaleout-truth-{int(time.time())}"
    pg("start", args.pg_port)
    outcomes: list[Outcome] = []
    truth: Truth | None = None
    try:
        pg_url = pg("url", args.pg_port)
        plan = [(f"single-{i + 1}", 1) for i in range(args.singles)] + [(f"n{n}", n) for n in args.instances]
        for index, (name, n) in enumerate(plan):
            outcomes.append(one_run(name, n, args, pg_url, truth_dir if index == 0 else None))
            truth = (read_truth(truth_dir, date.fromisoformat(args.start), date.fromisoformat(args.today))
                     if (truth_dir / "flags.jsonl").exists() else None)
            report_run(outcomes[-1], truth, args.today)
    finally:
        pg("stop", args.pg_port)
    print()
    ref = outcomes[0]
    verdicts = [compare(ref, o, args.show, truth) for o in outcomes[1:]]
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
