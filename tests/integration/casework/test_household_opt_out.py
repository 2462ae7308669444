"""A guardian's household opt-out covers a child born into the household later (issue 15, docs/privacy.md
"Opt-out"): the casework worker, as a process on PostgreSQL with the real broker, reads the newborn's profile from
linkage.children.v1, records the opt-out, publishes it to privacy.optouts.v1 and raises no alert for its flags;
after the withdrawal through the CLI a later child is not covered."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import func, select

from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS_TOPIC
from contracts.topics.privacy_optouts import OptOutV1
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.casework.adapters.orm import Alert, AuditRecord, Child, PrivacyOptOut
from services.casework.bootstrap import Container
from services.casework.entrypoints import cli
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.processes import casework_env, running, start_group_at_end
from tests.kafka_reader import TopicReader, wait_until
from tests.unit.casework.factories import flags_event, profile_event, raw
from tests.unit.casework.privacy_data import add_users

pytestmark = pytest.mark.integration
READY = "Worker ready"


def test_a_newborn_in_an_opted_out_household_is_opted_out_by_the_worker(
        kafka_bootstrap: str, pg_container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = uuid.uuid4().hex[:6]
    household, sibling, newborn, later = f"h-{run}", f"sib-{run}", f"new-{run}", f"later-{run}"
    add_users(pg_container)
    WorkerHandlers(pg_container).process("profile", raw(profile_event(sibling, "40131", household_id=household)),
                                         where="t")
    for name, value in (("DATABASE_URL", str(pg_container.settings.database_url)), ("ENVIRONMENT", "test"),
                        ("SESSION_SECRET", "t" * 32)):
        monkeypatch.setenv(f"TSUNAGU_CASEWORK_{name}", value)
    assert cli.main(["opt-out", "--user", "privacy", "--child", sibling, "--household", "--requested-by", "保護者",
                     "--reason", "保護者から世帯について申出"]) == 0

    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path)
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       [FLAGS_TOPIC.name, CHILDREN_TOPIC.name, "linkage.review.v1"])
    optouts = TopicReader(kafka_bootstrap, OPTOUTS_TOPIC.name)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    log = tmp_path / "casework.log"
    try:
        with running("services.casework.entrypoints.worker", env, log, READY, 90):
            producer.send(CHILDREN_TOPIC.name, key=newborn.encode(),
                          value=raw(profile_event(newborn, "40131", household_id=household)))
            producer.flush()
            # the sibling's opt-out (queued by the CLI) and the newborn's, both by the worker's relay
            published = optouts.for_keys({sibling, newborn}, 2, timeout_s=60)
            by_child = {e["data"]["child_id"]: OptOutV1.model_validate(e["data"]) for e in published}
            assert by_child[newborn].active and by_child[newborn].requested_by == "保護者"
            assert by_child[newborn].since == by_child[sibling].since  # the household request's day

            producer.send(FLAGS_TOPIC.name, key=newborn.encode(),
                          value=raw(flags_event(newborn, "40131", None, [17], tier_after="予防")))
            producer.flush()

            def flags_stored() -> bool:
                with pg_container.sessions() as session:
                    child = session.get(Child, newborn)
                    return child is not None and child.tier == "予防"

            wait_until(flags_stored, 60, "the newborn's flags")
            with pg_container.sessions() as session:
                assert session.scalar(select(func.count()).select_from(Alert).where(Alert.child_id == newborn)) == 0
                row = session.get(PrivacyOptOut, newborn)
                assert row is not None and row.active and row.via_household == household
                [entry] = session.scalars(select(AuditRecord).where(AuditRecord.child_id == newborn))
                assert entry.user_id == "system" and entry.action == "opt_out"

            assert cli.main(["opt-out", "--user", "privacy", "--child", sibling, "--household", "--withdraw",
                             "--reason", "保護者が撤回"]) == 0
            producer.send(CHILDREN_TOPIC.name, key=later.encode(),
                          value=raw(profile_event(later, "40131", household_id=household)))
            producer.flush()
            wait_until(lambda: rows_of(pg_container, later), 60, "the later child's profile")
            with pg_container.sessions() as session:
                assert session.get(PrivacyOptOut, later) is None  # withdrawn: a later child is not covered
                assert not session.get(PrivacyOptOut, newborn).active  # type: ignore[union-attr]
    finally:
        producer.close()
        optouts.close()
    text = log.read_text(errors="replace")
    assert newborn not in text and household not in text  # no child or household id in the worker's log


def rows_of(c: Container, child_id: str) -> bool:
    with c.sessions() as session:
        return session.get(Child, child_id) is not None
