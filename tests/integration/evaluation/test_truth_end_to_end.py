"""The evaluation's figures against the simulator's truth, end to end over a real broker.

Casework (its real worker handlers and JSON API, SQLite) lists synthetic children; the simulator's staff agent
(simulator/casework_staff.py) works the inbox through the API and writes its truth file; casework's outbox messages
(casework.alerts.v1, casework.outcomes.v1, exactly as its relay would send them) go to the broker; the evaluation
worker consumes them into its store; the funnel and the item model are compared with what the truth file implies:

- every count of the funnel (listed, screened, approached, reached, assessed, needing support, already supported,
  not applicable) equals the count in the truth file's steps — nothing lost, nothing counted twice;
- the PPV (needing over assessed) estimates the hidden need of *every* listed child (the truth's needs_support,
  assessed or not): the simulator's assessments are independent of need, so its Wilson interval must cover it;
- the odds ratios of the simulator's two strong items (18 ×3, 17 ×2) fall inside the model's intervals, which
  exclude 1. The weaker ones (3 ×1.5, 12 ×1.8, 19 ×1.3, 5 ×1) are printed, not asserted: with ≈ 400 assessed
  children one of six 95 % intervals missing its truth is expected now and then (a run with other ids gave
  item 5 OR 0.50, 0.31–0.82).

The children's ids are fixed, so the truth's draws (seeded by the alert id) and every figure are the same each run.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.casework.adapters.orm import OutboxMessage
from services.evaluation.bootstrap import bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.domain.periods import Period
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.reports import evaluation_report
from simulator.casework_staff import OutcomeModel, login, work_inbox
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import PASSWORD, add_user, client_for, seed_child
from tests.kafka_reader import wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TOPICS = ["casework.alerts.v1", "casework.outcomes.v1", "scoring.flags.v1"]
CHILDREN = 600
REACHED = {("個別アプローチ", "面会できた"), ("個別アプローチ", "電話で聴取できた")}
ITEM_RATES = {18: 0.3, 17: 0.3, 3: 0.4, 12: 0.25, 19: 0.3, 5: 0.3}  # 5 carries no weight in the truth (OR 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_group_at_end(bootstrap_servers: str, group_id: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in TOPICS for p in sorted(consumer.partitions_for_topic(t) or [])]
        consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in consumer.end_offsets(parts).items()})
    finally:
        consumer.close()


def _simulate(tmp_path: Path, truth_file: Path) -> list[tuple[str, str, str]]:
    """Casework lists the children, the staff agent works them; returns casework's outbox (topic, key, payload)."""
    rng = random.Random(20261109)
    casework = make_container(f"sqlite:///{tmp_path}/casework.db", FakeClock())
    try:
        add_user(casework, "higashi", "ward_staff", "40131")
        for n in range(CHILDREN):  # fixed ids: the alert ids, hence the truth's draws, are the same every run
            items = sorted(i for i, rate in ITEM_RATES.items() if rng.random() < rate) or [3]
            seed_child(casework, f"truth-child-{n}", "40131", items=items)
        client = client_for(casework)
        login(client, "higashi", PASSWORD)
        truths = work_inbox(client, OutcomeModel(), seed=11)
        assert len(truths) == CHILDREN
        with truth_file.open("w", encoding="utf-8") as out:  # as simulator.casework_staff's main() writes it
            for truth in truths:
                out.write(json.dumps(asdict(truth), ensure_ascii=False) + "\n")
        with casework.sessions() as s:
            return [(m.topic, m.key, m.payload) for m in s.scalars(
                select(OutboxMessage).where(OutboxMessage.topic.in_(TOPICS[:2])).order_by(OutboxMessage.id))]
    finally:
        casework.engine.dispose()


def test_the_evaluation_figures_match_the_simulators_truth(kafka_bootstrap: str, tmp_path: Path) -> None:
    truth_file = tmp_path / "approach-truth.jsonl"
    db_url = f"sqlite:///{tmp_path}/evaluation.db"
    group = f"ev-truth-{os.urandom(4).hex()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_EVALUATION_")}
    env.update({"TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_EVALUATION_DATABASE_URL": db_url,
                "TSUNAGU_EVALUATION_APP_ID": group, "TSUNAGU_EVALUATION_DATA_DIR": str(tmp_path / "faust"),
                "TSUNAGU_EVALUATION_METRICS_PORT": str(_free_port()), "PYTHONUNBUFFERED": "1",
                "TSUNAGU_EVALUATION_KAFKA_SESSION_TIMEOUT_S": "10", "TSUNAGU_EVALUATION_SCHEDULE_ENABLED": "false"})
    _start_group_at_end(kafka_bootstrap, group)
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "services.evaluation.entrypoints.faust_app"], cwd=ROOT,
                                  env=env, stdout=out, stderr=out)
    container = bootstrap(EvaluationSettings(database_url=db_url, metrics_port=0, publish_reports=False),
                          metrics=EvaluationMetrics(CollectorRegistry()))
    try:
        # the worker starts (joins its group, ≈ 10 s) while casework is worked: it reads from its group's offsets
        outbox = _simulate(tmp_path, truth_file)
        steps = sum(1 for topic, _, _ in outbox if topic == "casework.outcomes.v1")
        wait_until(lambda: "Worker ready" in log_path.read_text(errors="replace") or worker.poll() is not None,
                   120, "the evaluation worker to start")
        assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        for topic, key, payload in outbox:  # what casework's outbox relay sends
            producer.send(topic, key=key.encode(), value=payload.encode())
        producer.flush()
        producer.close()

        def stored() -> bool:
            with container.uow() as uow:
                cases = uow.store.cases()
            return len(cases) == CHILDREN and sum(len(c.steps) for c in cases) == steps and all(c.tier for c in cases)

        wait_until(stored, 180, f"{CHILDREN} listings and {steps} steps in the evaluation store")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    truths = [json.loads(line) for line in truth_file.read_text(encoding="utf-8").splitlines()]
    results = [[(s[0], s[1]) for s in t["steps"]] for t in truths]
    assessed_truths = [t for t, r in zip(truths, results, strict=True) if any(a == "アセスメント" for a, _ in r)]
    expected = {
        "listed": len(truths),
        "screened": sum(1 for r in results if r[0][0] == "二次スクリーニング"),
        "already_supported": sum(1 for r in results if ("二次スクリーニング", "既に支援につながっている") in r),
        "not_applicable": sum(1 for r in results if ("二次スクリーニング", "非該当") in r),
        "approached": sum(1 for r in results if any(a == "個別アプローチ" for a, _ in r)),
        "reached": sum(1 for r in results if REACHED & set(r)),
        "assessed": len(assessed_truths),
        "needing": sum(1 for t in assessed_truths if t["needs_support"]),
    }
    report = evaluation_report(container, Period("all", date(2000, 1, 1), date(2100, 1, 1)))
    row = report.funnel.overall
    figures = {"listed": row.listed, "screened": row.screened.k, "already_supported": row.already_supported.k,
               "not_applicable": row.not_applicable.k, "approached": row.approached.k, "reached": row.reached.k,
               "assessed": row.assessed.k, "needing": row.ppv.k}
    print(f"\nevaluation {figures}\ntruth      {expected}")
    assert figures == expected
    assert row.ppv.n == expected["assessed"]

    # The truth's need among every listed child (assessed or not) lies within the PPV's Wilson interval.
    prevalence = sum(1 for t in truths if t["needs_support"]) / len(truths)
    print(f"PPV {row.ppv.rate:.3f} ({row.ppv.low:.3f}–{row.ppv.high:.3f}); truth prevalence {prevalence:.3f}")
    assert row.ppv.low <= prevalence <= row.ppv.high
    # The model recovers the truth's odds ratios (OutcomeModel: 18 ×3, 17 ×2; 5 has none).
    assert report.model is not None, report.model_note
    ors = {o.item: o for o in report.model.odds_ratios}
    print("OR " + ", ".join(f"{i}: {o.odds_ratio:.2f} ({o.low:.2f}–{o.high:.2f})" for i, o in sorted(ors.items())))
    truth_or = {**dict.fromkeys(ITEM_RATES, 1.0), **OutcomeModel().odds_ratios}
    for item in (18, 17):  # the two strong items, chosen before looking; the weak ones are printed only
        assert ors[item].low <= truth_or[item] <= ors[item].high, (item, ors[item])
        assert ors[item].low > 1.0  # found, not only "not excluded"
    container.engine.dispose()
