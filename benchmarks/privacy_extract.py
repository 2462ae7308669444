"""Benchmark: a masked analysis extract of the scale-1.0 synthetic city (≈ 220 k children, a year); target ≤ 5 min.

    .venv/bin/python benchmarks/privacy_extract.py [--children 220000] [--database-url sqlite:///…]

Seeds the case database in bulk (children with profiles and current flags; ~12 % of them alerted with a few workflow
steps), then times ``privacy_extract.produce`` end to end: read, pseudonymise, k-anonymity, CSV + Parquet, register.
Seeding is not timed. Run it once on a quiet machine: it uses one core for a few minutes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from services.casework.adapters.orm import Alert, CaseStep, Child
from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer import privacy_extract
from services.casework.service_layer.auth import create_user

WARDS = ["40131", "40132", "40133", "40134", "40135", "40136", "40137"]
NOW = datetime(2026, 4, 10, 1, 0, tzinfo=UTC)


def flag(item: int, raised_on: str) -> dict[str, object]:
    return {"item": item, "label_ja": f"項目{item}", "rule_version": "r1", "raised_on": raised_on, "detail_ja": "",
            "evidence": [{"fact_id": "f", "fact_kind": "k", "source_system": "maternal_child_health",
                          "relation": "self", "record_date": raised_on, "summary_ja": "…", "values": {}}]}


def seed(container: object, n: int, rng: random.Random) -> int:
    c = container
    children, alerts, steps = [], [], []
    start = datetime(2025, 4, 1, tzinfo=UTC)
    for i in range(n):
        cid = f"bench-{i:07d}"
        birth = datetime(2010, 4, 2) + timedelta(days=rng.randint(0, 16 * 365 - 1))
        items = sorted(rng.sample([3, 9, 12, 13, 15, 17, 18, 19], rng.choice([0, 0, 0, 0, 1, 1, 2])))
        raised = (start + timedelta(days=rng.randint(0, 360))).date().isoformat()
        children.append({
            "child_id": cid, "ward_code": rng.choice(WARDS), "household_id": f"h-{i // 2}",
            "name_kanji": "試験 花子", "name_kana": "シケン ハナコ", "birth_date": birth.date().isoformat(),
            "sex": rng.choice("12"), "address": "福岡市", "status": "resident", "tier": "予防" if items else None,
            "score": float(len(items)), "current_items": items, "flags": [flag(x, raised) for x in items],
            "supported_by_child_guidance": False})
        if items and rng.random() < 0.4:
            alert_id, at = str(uuid.uuid4()), start + timedelta(days=rng.randint(0, 360))
            alerts.append({"alert_id": alert_id, "alert_key": alert_id, "child_id": cid,
                           "ward_code": children[-1]["ward_code"], "tier": "予防", "items": items,
                           "reason": "entered_tier", "raised_at": at, "state": "関係三課協議", "state_changed_at": at})
            steps.append({"alert_id": alert_id, "action": "一次スクリーニング", "result": None, "reason": "",
                          "details": {}, "from_state": None, "to_state": "一次スクリーニング", "actor_id": "system",
                          "actor_role": "system", "at": at})
            steps.append({"alert_id": alert_id, "action": "二次スクリーニング", "result": "要アプローチ",
                          "reason": "自由記述（出ない）", "details": {}, "from_state": "一次スクリーニング",
                          "to_state": "関係三課協議", "actor_id": "u", "actor_role": "ward_staff",
                          "at": at + timedelta(days=3)})
    with c.sessions.begin() as session:  # type: ignore[attr-defined]
        for table, rows in ((Child, children), (Alert, alerts), (CaseStep, steps)):
            for i in range(0, len(rows), 5000):
                session.execute(insert(table), rows[i:i + 5000])
        create_user(session, username="hq", password="x", role="hq_admin", ward_code=None, division=None, now=NOW,
                    check_strength=False)
    return len(alerts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=220_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="privacy-bench-"))
    url = args.database_url or f"sqlite:///{tmp}/casework.db"
    c = bootstrap(CaseworkSettings(database_url=url, environment="test", session_secret="b" * 32), clock=lambda: NOW)
    t0 = time.perf_counter()
    n_alerts = seed(c, args.children, random.Random(15))
    print(f"seeded {args.children} children, {n_alerts} alerts in {time.perf_counter() - t0:.1f} s (not timed)")
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = privacy_extract.produce(c, username="hq", purpose="ベンチマーク", period_from="2025-04-01",
                                     period_to="2026-03-31", out=tmp / "out")
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    size = sum(p.stat().st_size for p in result.out_dir.iterdir())
    print(f"extract: {wall:.1f} s wall, {cpu:.1f} s CPU; rows {result.row_counts}; "
          f"{result.k_report['subjects_suppressed']} suppressed at age level "
          f"{result.k_report['age_generalisation_level']}; {size / 1e6:.1f} MB in {result.out_dir}")
    print("target ≤ 300 s:", "met" if wall <= 300 else "NOT met")


if __name__ == "__main__":
    main()
