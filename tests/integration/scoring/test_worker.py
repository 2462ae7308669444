"""The scoring worker as a process over the real broker: facts in, flag changes out, state kept, the clock,
two instances sharing the children."""

from __future__ import annotations

import re
import signal
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer, TopicPartition

from tests.integration.scoring.factories import FACTS, fact_envelope, residence
from tests.integration.scoring.worker import Worker
from tests.kafka_reader import TopicReader, wait_committed

pytestmark = pytest.mark.integration

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _past(sent: list) -> dict[TopicPartition, int]:
    """The offsets just past these sends' records, per partition (what a group must commit to have handled them)."""
    past: dict[TopicPartition, int] = {}
    for future in sent:
        meta = future.get(timeout=30)
        tp = TopicPartition(meta.topic, meta.partition)
        past[tp] = max(past.get(tp, 0), meta.offset + 1)
    return past


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    app_id = f"test-scoring-{uuid.uuid4().hex[:8]}"
    started: list[Worker] = []

    def make(today: str = "2026-06-01", metrics_port: int = 0, **settings: str) -> Worker:
        worker = Worker(kafka_bootstrap, app_id, tmp_path, today=today, metrics_port=metrics_port, settings=settings)
        started.append(worker)
        worker.start()
        return worker

    yield make
    for worker in started:
        worker.stop(signal.SIGKILL)


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    yield producer
    producer.close()


@pytest.fixture
def flags(kafka_bootstrap: str) -> Iterator[Callable[..., list[dict]]]:
    """Reads scoring.flags.v1 from its current end: ``flags(children, until, timeout_s)`` — only the messages
    keyed by this test's children (tests/kafka_reader.py: no group to join, foreign messages skipped)."""
    reader = TopicReader(kafka_bootstrap, "scoring.flags.v1")

    def collect(children: set[str], until: int, timeout_s: float = 120) -> list[dict]:
        return reader.for_keys(children, until, timeout_s)

    yield collect
    reader.close()


def test_raised_on_a_fact_cleared_on_its_end_state_survives_a_crash_and_metrics_count(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]]) -> None:
    child = f"child-{uuid.uuid4().hex}"
    port = _free_port()
    worker = workers(metrics_port=port)

    # The child lives in 中央区; a poison message; the household starts 生活保護 → item 18, with evidence.
    producer.send(FACTS, key=child.encode(), value=residence(child))
    producer.send(FACTS, key=child.encode(), value=b"{not json")
    producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa"))
    producer.flush()
    [raised] = flags({child}, until=1)
    assert raised["type"] == "scoring.flags.changed" and raised["subject"] == child
    data = raised["data"]
    assert data["raised_items"] == [18] and data["cleared_items"] == [] and data["before"] is None
    assert data["ward_code"] == "40133" and data["rules_version"] == "fukuoka-2025.2"
    [flag] = data["after"]["flags"]
    assert flag["evidence"][0]["fact_id"] == f"{child}-pa" and "生活保護" in flag["evidence"][0]["summary_ja"]

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert re.search(r'tsunagu_scoring_facts_failed_total\{reason="invalid_json"\} [1-9]', metrics)
    assert re.search(r'tsunagu_scoring_flags_raised_total\{item="18"\} [1-9]', metrics)
    assert "tsunagu_scoring_processing_duration_seconds_bucket" in metrics
    assert child not in metrics

    # kill -9 and restart (the group waits out the dead member's session): the redelivered fact changes nothing;
    # the case ending before today clears the flag — exactly one message.
    worker.stop(signal.SIGKILL)
    workers()
    producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa"))
    producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa", valid_to="2026-05-31"))
    producer.flush()
    # At-least-once: a kill -9 before the offset commit may republish the raise, but only under the same event
    # id (ids derive from the change), which consumers drop. Any other second message is a real duplicate.
    seen: list[dict] = []
    while not any(m["id"] != raised["id"] for m in seen):
        arrived = flags({child}, until=1, timeout_s=150)
        assert arrived, "no flags message cleared item 18 after the restart"
        seen += arrived
    seen += flags({child}, until=1, timeout_s=8)  # a duplicate would follow within seconds
    messages = [m for m in seen if m["id"] != raised["id"]]
    assert len(messages) == 1, ("a redelivered fact must not publish a new change", raised["id"], [
        (m["id"], m["data"]["ward_code"], m["data"]["as_of"], m["data"]["raised_items"], m["data"]["cleared_items"],
         m["data"]["before"] and [f["item"] for f in m["data"]["before"]["flags"]]) for m in seen])
    cleared = messages[0]["data"]
    assert cleared["cleared_items"] == [18] and cleared["raised_items"] == []
    assert cleared["before"]["flags"][0]["item"] == 18 and cleared["after"]["flags"] == []


def test_the_clock_raises_a_missed_checkup_after_a_restart_with_no_new_event(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]],
        kafka_bootstrap: str) -> None:
    baby = f"baby-{uuid.uuid4().hex}"
    worker = workers(today="2026-06-01")
    # Born 5 Dec 2025: the 3–4 month window closes on 5 June 2026. Today nothing is missed yet.
    sent = [producer.send(FACTS, key=baby.encode(), value=residence(baby, born="2025-12-05", since=None))]
    producer.flush()
    wait_committed(kafka_bootstrap, worker.app_id, _past(sent))  # handled, its state on the changelog
    assert flags({baby}, until=1, timeout_s=2) == []
    worker.stop(signal.SIGTERM)  # a clean leave: the next worker joins at once

    workers(today="2026-06-05")  # four days later: state comes back from the changelog, the sweep runs
    [raised] = flags({baby}, until=1, timeout_s=150)
    data = raised["data"]
    assert data["raised_items"] == [3] and data["as_of"] == "2026-06-05"
    assert data["after"]["flags"][0]["raised_on"] == "2026-06-05"


def test_an_absence_waits_for_the_next_day_or_with_a_settle_period_for_the_childs_records_to_stop(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]]) -> None:
    """A registry record arrives before the checkup history: nothing is said at once (the history may be on its
    way); with ABSENCE_SETTLE_SECONDS (make run's demonstration) the absence is concluded once the child's
    records have stopped for that long, the same day; a child whose checkup record follows in time is not."""
    missed, attended = f"missed-{uuid.uuid4().hex}", f"attended-{uuid.uuid4().hex}"
    worker = workers(today="2026-06-01", absence_settle_seconds="4")
    assert worker.wait_for_assignment()
    for child in (missed, attended):  # born 2025-08-10: the 3–4 month window closed on 2026-02-10
        producer.send(FACTS, key=child.encode(), value=residence(child, born="2025-08-10", since=None))
    producer.send(FACTS, key=attended.encode(), value=fact_envelope(
        attended, f"{attended}-chk", kind="infant_checkup", relation="self", source_system="maternal_child_health",
        valid_from="2025-11-20", record_date="2025-11-20",
        attributes={"checkup": "3-4m", "checkup_date": "2025-11-20", "attended": True}))
    producer.flush()
    started = time.monotonic()
    [raised] = flags({missed, attended}, until=1, timeout_s=60)
    assert time.monotonic() - started >= 3  # not on the fact: after the settle period
    assert raised["subject"] == missed and raised["data"]["raised_items"] == [3]
    assert raised["data"]["as_of"] == "2026-06-01"
    assert raised["data"]["after"]["flags"][0]["raised_on"] == "2026-02-10"
    assert flags({missed, attended}, until=1, timeout_s=10) == []  # nothing for the child who attended


def test_the_go_live_load_is_published_by_the_first_sweep_of_publish_from_and_not_before(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]],
        kafka_bootstrap: str) -> None:
    child = f"golive-{uuid.uuid4().hex}"
    worker = workers(today="2026-06-01", publish_from="2026-06-02")
    assert worker.wait_for_assignment()
    sent = [producer.send(FACTS, key=child.encode(), value=residence(child)),
            producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa"))]
    producer.flush()
    wait_committed(kafka_bootstrap, worker.app_id, _past(sent))  # handled: while the hold lasts nothing publishes
    assert flags({child}, until=1, timeout_s=2) == []  # held: recorded, not published, not even by the clock
    worker.stop(signal.SIGTERM)

    workers(today="2026-06-02", publish_from="2026-06-02")  # the morning after the load
    [published] = flags({child}, until=1, timeout_s=150)
    data = published["data"]
    assert data["raised_items"] == [18] and data["before"] is None and data["as_of"] == "2026-06-02"
    assert flags({child}, until=1, timeout_s=5) == []


def test_a_backlog_is_published_once_quiet_and_read_to_its_end_not_when_a_stall_makes_it_look_quiet(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]],
        kafka_bootstrap: str) -> None:
    """docs/scoring.md "Backlogs": facts whose source events are an hour old wait, and the child is published
    once on all of them when the backlog is through. The worker is stopped (SIGSTOP) for longer than the quiet
    while the backlog's next fact waits in the topic: on waking it looks quiet, but the broker's end offsets say
    a fact is still to be read. ``early``'s first two facts raise item 18 and its third clears it: published on
    the first two alone, a ward would get an alert for a flag already gone. ``marker`` is released with it."""
    early, marker = f"early-{uuid.uuid4().hex}", f"marker-{uuid.uuid4().hex}"
    worker = workers(catch_up_after_s="60", catch_up_quiet_s="5")
    assert worker.wait_for_assignment()
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    sent = [producer.send(FACTS, key=early.encode(), value=residence(early, source_time=old)),
            producer.send(FACTS, key=early.encode(), value=fact_envelope(early, f"{early}-pa", source_time=old))]
    producer.flush()
    wait_committed(kafka_bootstrap, worker.app_id, _past(sent))  # held, its quiet begun
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGSTOP)
    try:
        sent += [producer.send(FACTS, key=early.encode(), value=fact_envelope(
                     early, f"{early}-pa", valid_to="2026-05-31", source_time=old)),
                 producer.send(FACTS, key=marker.encode(), value=residence(marker, source_time=old)),
                 producer.send(FACTS, key=marker.encode(), value=fact_envelope(marker, f"{marker}-pa",
                                                                              source_time=old))]
        producer.flush()
        time.sleep(7)  # a stall longer than the quiet (the session timeout is 15 s)
    finally:
        worker.proc.send_signal(signal.SIGCONT)
    [first] = flags({early, marker}, until=1, timeout_s=90)
    assert first["subject"] == marker, ("published on a partial history", first["data"]["raised_items"])
    assert first["data"]["raised_items"] == [18] and first["data"]["source_time"] == old
    assert flags({early, marker}, until=1, timeout_s=3) == []  # the early child's facts cancel out: nothing


def test_two_instances_share_the_children_without_loss_or_duplicates(
        workers: Callable[..., Worker], producer: KafkaProducer, flags: Callable[..., list[dict]],
        kafka_bootstrap: str) -> None:
    ports = [_free_port(), _free_port()]
    first, second = workers(metrics_port=ports[0]), workers(metrics_port=ports[1])
    assert first.wait_for_assignment() | second.wait_for_assignment(), "both workers got partitions"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the group has settled with both members
        a, b = first.wait_for_assignment(), second.wait_for_assignment()
        if a and b and not a & b and a | b == set(range(6)):
            break
        time.sleep(2)
    else:
        pytest.fail(f"partitions not split between the two workers: {first.wait_for_assignment()} / "
                    f"{second.wait_for_assignment()}")
    children = {f"twin-{n}-{uuid.uuid4().hex[:10]}" for n in range(40)}
    sent = []
    for child in children:
        sent.append(producer.send(FACTS, key=child.encode(), value=residence(child)))
        sent.append(producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa")))
    producer.flush()
    messages = flags(children, until=len(children), timeout_s=60)
    if len(messages) == len(children):  # all there: a duplicate would be on the topic once the group is past them
        wait_committed(kafka_bootstrap, first.app_id, _past(sent), timeout_s=60)
        messages += flags(children, until=1, timeout_s=2)
    if sorted(m["subject"] for m in messages) != sorted(children):  # say which worker stopped, and how
        from kafka.partitioner.default import murmur2  # the producer's own choice of partition

        missing = children - {m["subject"] for m in messages}
        print("partitions of the children without flags:",
              sorted({(murmur2(child.encode()) & 0x7FFFFFFF) % 6 for child in missing}))
        for worker, port in zip((first, second), ports, strict=True):
            lines = worker.log.read_text(errors="replace").splitlines()
            words = ("WARN", "ERROR", "ready", "assigned", "revoked", "loaded")
            print(f"worker {worker.log.name} log (warnings, rebalances, state loads):",
                  [line[:200] for line in lines if any(w in line for w in words)][-30:])
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            print(f"worker {worker.log.name}: partitions {worker.assigned()}, counters:",
                  [line for line in text.splitlines() if line.startswith(("tsunagu_scoring_facts_processed_total",
                                                                          "tsunagu_scoring_messages_published",
                                                                          "tsunagu_scoring_children"))])
        changelog = TopicReader(kafka_bootstrap, f"{first.env['TSUNAGU_SCORING_APP_ID']}-child-state-changelog",
                                from_beginning=True)  # what scoring holds for them: scored, or never seen?
        held: dict[str, bytes] = {}
        changelog.raw(lambda m: bool(m.key) and held.__setitem__(m.key.decode().strip('"'), m.value) is None
                      and False, 1, 10)
        changelog.close()
        for child in sorted(missing)[:3]:
            print(f"state of {child}:", (held.get(child) or b"(none)")[:700])
        print(f"{sum(child in held for child in missing)} of {len(missing)} missing have a state; "
              f"{sum(child in held for child in children)} of {len(children)} in all")
        from kafka import KafkaAdminClient, KafkaConsumer

        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)  # did the group commit past them?
        ends_reader = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
        try:
            group = first.env["TSUNAGU_SCORING_APP_ID"]
            committed = admin.list_group_offsets({group: None})[group]
            ends = ends_reader.end_offsets([TopicPartition(FACTS, p) for p in range(6)])
            print("facts partitions, committed / end:",
                  {tp.partition: (committed[tp].offset if tp in committed else None, end)
                   for tp, end in sorted(ends.items())})
        finally:
            admin.close()
            ends_reader.close()
        facts_reader = TopicReader(kafka_bootstrap, FACTS, from_beginning=True)  # where their facts sit
        at = facts_reader.raw(lambda m: bool(m.key) and m.key.decode(errors="replace") in missing, 2 * len(missing), 20)
        facts_reader.close()
        print("offsets of the missing children's facts:", sorted((m.partition, m.offset) for m in at))
        started = time.monotonic()  # lost, or only late?
        late = flags(missing, until=len(missing), timeout_s=90)
        print(f"{len(late)} of the {len(missing)} missing came within {time.monotonic() - started:.0f}s more")
        for worker, port in zip((first, second), ports, strict=True):
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            print(f"worker {worker.log.name} then:",
                  [line for line in text.splitlines() if line.startswith(("tsunagu_scoring_facts_processed_total",
                                                                          "tsunagu_scoring_children"))])
    assert sorted(m["subject"] for m in messages) == sorted(children)
    assert all(m["data"]["raised_items"] == [18] for m in messages)
    # The second leaves (SIGTERM): the first takes its partitions and loads their state from the changelog, so the
    # end of each child's 生活保護 clears the flag the other instance raised (from a state it never held itself).
    second.stop()
    deadline = time.monotonic() + 120
    while first.wait_for_assignment() != set(range(6)):
        if time.monotonic() > deadline:
            pytest.fail(f"the remaining worker did not take every partition: {first.wait_for_assignment()}")
        time.sleep(1)
    for child in children:
        producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa", valid_to="2026-05-31"))
    producer.flush()
    cleared = flags(children, until=len(children), timeout_s=90)
    assert sorted(m["subject"] for m in cleared) == sorted(children), (
        f"{len(cleared)} of {len(children)} cleared; log: {first.log.read_text(errors='replace')[-3000:]}")
    assert all(m["data"]["cleared_items"] == [18] and m["data"]["before"] is not None for m in cleared)


def test_the_state_changelog_forgets_a_deleted_childs_facts_within_days(
        workers: Callable[..., Worker], kafka_bootstrap: str) -> None:
    """Scoring's state changelog holds children's facts: the worker creates it with the bounded compaction of the
    catalogue's compacted topics (contracts.topics.FORGET_WITHIN_DAYS), so a deletion's tombstone removes them."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    from contracts.topics import FORGET_WITHIN_DAYS

    worker = workers()
    assert worker.wait_for_assignment(), worker.log.read_text(errors="replace")[-3000:]
    changelog = f"{worker.env['TSUNAGU_SCORING_APP_ID']}-child-state-changelog"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        entries = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, changelog)])["topic"][changelog]
    finally:
        admin.close()
    assert entries["cleanup.policy"]["value"] == "compact"
    assert {name: entries[name]["value"] for name in FORGET_WITHIN_DAYS} == FORGET_WITHIN_DAYS
