"""Kafka with SASL/SCRAM-SHA-512 over TLS and per-service ACLs, as ``make run`` starts it, on a broker of the test's
own (``kafka.sh`` with KAFKA_SECURITY=sasl_ssl on TSUNAGU_TEST_SASL_KAFKA_PORT, default a free pair of ports below the
ephemeral range, its own data and credentials directories, its own local CA).

Every principal of deploy/kafka/acls.py can do what it needs (produce its topics, read its topics, commit its
group); every out-of-table produce, read and group commit is refused — counted, 100 %; and the scoring worker runs
end to end with only its own credentials and ACLs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer
from aiokafka.errors import TopicAuthorizationFailedError as AioTopicAuthorizationFailed
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from kafka.structs import OffsetAndMetadata

from contracts.kafka_security import client_options
from contracts.topics import CATALOGUE
from deploy.kafka.acls import ACCESS, ADMIN, Access
from tests.integration.scoring.worker import Worker

pytestmark = pytest.mark.integration
OWN_BROKER = True  # its workers use the SASL broker below, not the shared test broker (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[3]
def _free_pair(avoid: Collection[int] = ()) -> int:
    """A free port whose next port is free too (kafka.sh puts the controller on port + 1), taken *below* the
    kernel's ephemeral range: a port from bind(("", 0)) is free only until someone else is handed it — another
    test's free_port(), or the source port of any outbound connection on the machine — and a broker started
    minutes later then failed with "Address already in use" (CI, 1 Dec). Below the range only a listener that
    chose the port on purpose can take it."""
    import random
    import socket

    low = 32768
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    taken = {int(os.environ.get("TSUNAGU_TEST_KAFKA_PORT", "19092")), int(os.environ.get("TSUNAGU_TEST_PG_PORT",
                                                                                          "15432"))}
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, max(20002, low - 1))
        if {port, port + 1} & ({p + d for p in taken for d in (-1, 0, 1)} | set(avoid)):
            continue
        try:
            for candidate in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports below the ephemeral range")


FIXED_PORT = os.environ.get("TSUNAGU_TEST_SASL_KAFKA_PORT")


# A producer the broker refuses fails in ~5 s instead of 30: no API-version probe (it waits out a 30 s request
# timeout on a connection that never authenticates), short request and metadata waits.
REFUSED_FAST: dict[str, object] = {"max_block_ms": 5000, "request_timeout_ms": 5000, "api_version": (2, 6)}
TOPICS = [t.name for t in CATALOGUE]
GROUPS = sorted({a.group for a in ACCESS if a.group})


class Broker:
    def __init__(self, bootstrap: str, credentials: Path) -> None:
        self.bootstrap, self.credentials = bootstrap, credentials

    def password(self, principal: str) -> str:
        return (self.credentials / principal).read_text(encoding="utf-8").strip()

    @property
    def ca(self) -> Path:
        return self.credentials / "tls" / "ca.pem"  # the local CA kafka.sh made, which signed the broker's certificate

    def options(self, principal: str) -> dict[str, object]:
        return client_options("SASL_SSL", principal, self.password(principal), self.ca)


def _start(port: int) -> tuple[dict[str, str], Path] | None:
    """kafka.sh start on ``port``; the environment and credentials directory, or None if it did not come up."""
    data = ROOT / "var" / f"kafka-sasl-test-{port}"
    creds = data.with_name(data.name + "-credentials")
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_SECURITY": "sasl_ssl", "KAFKA_DATA_DIR": str(data),
           "KAFKA_CREDENTIALS_DIR": str(creds)}
    env.pop("KAFKA_JMX_EXPORTER_PORT", None)
    if subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), "start"], env=env, check=False).returncode == 0:
        return env, creds
    subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), "stop"], env=env, check=False)
    return None


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    # A chosen port can still be taken between the check and the broker's bind; then a fresh pair, three times
    # at most (a fixed TSUNAGU_TEST_SASL_KAFKA_PORT is tried once). The broker's log of a failed start stays.
    tried: set[int] = set()
    started = None
    for _ in range(1 if FIXED_PORT else 3):
        port = int(FIXED_PORT) if FIXED_PORT else _free_pair(tried)
        tried.update({port, port + 1})
        started = _start(port)
        if started:
            break
    if started is None:
        pytest.fail(f"the SASL broker did not start on any of ports {sorted(tried)[::2]} (kafka.sh's output above)")
    env, creds = started
    admin_env = {**env, "TSUNAGU_ADMIN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                 "TSUNAGU_ADMIN_KAFKA_SSL_CAFILE": str(creds / "tls" / "ca.pem"),
                 "TSUNAGU_ADMIN_KAFKA_SASL_USERNAME": ADMIN,
                 "TSUNAGU_ADMIN_KAFKA_SASL_PASSWORD_FILE": str(creds / ADMIN)}
    subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "contracts.admin", "create", "--bootstrap",
                    f"127.0.0.1:{port}"], env=admin_env, cwd=ROOT, check=True)
    try:
        yield Broker(f"127.0.0.1:{port}", creds)
    finally:
        if not os.environ.get("TSUNAGU_TEST_KEEP_BROKER"):
            subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), "stop"], env=env, check=False)


def _produce(broker: Broker, producer: KafkaProducer, topic: str) -> bool:
    """True if the broker took the record, False if it refused with TopicAuthorizationFailed; else raises."""
    try:
        producer.send(topic, key=b"acl-probe", value=b"{}").get(timeout=15)
        return True
    except TopicAuthorizationFailedError:
        return False


async def _reads(broker: Broker, principal: str, topics: list[str]) -> dict[str, bool]:
    """Per topic: True if a fetch from offset 0 succeeded, False if refused (metadata or fetch) for authorization."""
    options = broker.options(principal)
    client = AIOKafkaClient(bootstrap_servers=broker.bootstrap, **options)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, **options)
    await client.bootstrap()
    await consumer.start()
    result: dict[str, bool] = {}
    try:
        for topic in topics:
            client.set_topics([topic])
            await client.force_metadata_update()
            if topic in client.cluster.unauthorized_topics:  # refused at Metadata: not even Describe
                result[topic] = False
                continue
            tp = AioTopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, 0)
            # A read counts only once the broker answered a fetch (the highwater is known then, even with no
            # records): an empty getmany within its timeout may just be a fetch not answered yet under load.
            deadline = time.monotonic() + 20
            try:
                while consumer.highwater(tp) is None:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{principal}: no answer to a fetch of {topic} within 20 s")
                    await consumer.getmany(tp, timeout_ms=1500)
                result[topic] = True
            except AioTopicAuthorizationFailed:  # refused at Fetch: Describe (it may write) but not Read
                result[topic] = False
    finally:
        await consumer.stop()
        await client.close()
    return result


def _commit(broker: Broker, principal: str, group: str, topic: str) -> bool:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                             **broker.options(principal))
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        consumer.commit({tp: OffsetAndMetadata(0, "", -1)})
        return True
    except GroupAuthorizationFailedError:
        return False
    finally:
        consumer.close()


def _probe(broker: Broker, access: Access) -> list[tuple[str, str, str, bool, bool]]:
    """Every produce, read and group commit one principal could try: (kind, principal, target, may, did)."""
    tried: list[tuple[str, str, str, bool, bool]] = []
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_block_ms=10_000, retries=0,
                             **broker.options(access.principal))
    try:
        for topic in TOPICS:
            tried.append(("write", access.principal, topic, topic in access.write, _produce(broker, producer, topic)))
    finally:
        producer.close(timeout=5)
    for topic, did in asyncio.run(_reads(broker, access.principal, TOPICS)).items():
        tried.append(("read", access.principal, topic, topic in access.read, did))
    for group in GROUPS:
        topic = access.read[0] if access.read else TOPICS[0]
        tried.append(("group", access.principal, group, group == access.group,
                      _commit(broker, access.principal, group, topic)))
    return tried


def test_each_principal_can_do_what_it_needs_and_nothing_else(broker: Broker) -> None:
    allowed = {"write": 0, "read": 0, "group": 0}
    refused = {"write": 0, "read": 0, "group": 0}
    attempts = {"write": 0, "read": 0, "group": 0}
    wrong: list[str] = []

    def outcome(kind: str, principal: str, target: str, may: bool, did: bool) -> None:
        if may:
            allowed[kind] += 1
            if not did:
                wrong.append(f"{principal} could not {kind} {target}")
        else:
            attempts[kind] += 1
            refused[kind] += 0 if did else 1
            if did:
                wrong.append(f"{principal} could {kind} {target} without an ACL")

    # The principals are probed side by side (each with its own clients, and asyncio.run its own loop in its own
    # thread): one after the other, most of 150 s went to waiting for the broker's answers, one at a time.
    with ThreadPoolExecutor(max_workers=6) as pool:
        for tried in pool.map(lambda access: _probe(broker, access), ACCESS):
            for attempt in tried:
                outcome(*attempt)
    assert sum(allowed.values()) + sum(attempts.values()) == len(ACCESS) * (2 * len(TOPICS) + len(GROUPS))
    total_attempts, total_refused = sum(attempts.values()), sum(refused.values())
    print(f"\nKafka ACLs: {len(ACCESS)} principals; allowed operations that worked: {allowed}; out-of-ACL attempts "
          f"{attempts}, refused {refused}: {total_refused}/{total_attempts} = "
          f"{100 * total_refused / total_attempts:.1f} %")
    assert not wrong, wrong
    assert total_attempts > 1000 and total_refused == total_attempts


def _refused(options: dict[str, object]) -> str | None:
    """None if a producer with these options is refused (a KafkaError), else what it managed."""
    try:
        KafkaProducer(**options).send("scoring.flags.v1", b"x").get(timeout=10)
    except KafkaError:
        return None
    return f"a produce went through with {sorted(k for k in options if 'password' not in k)}"


def test_wrong_passwords_and_unknown_users_are_refused(broker: Broker) -> None:
    base = {"bootstrap_servers": broker.bootstrap, **REFUSED_FAST}
    cases = [{**base, **client_options("SASL_SSL", user, password, broker.ca)}
             for user, password in (("scoring", "not-its-password"), ("nobody", "whatever-password"))]
    cases.append(base)  # no authentication at all
    # the right password, but without TLS: the listener speaks only TLS
    cases.append({**base, **client_options("SASL_PLAINTEXT", "scoring", broker.password("scoring"))})
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:  # each waits out its own ≈ 5 s refusal
        assert list(pool.map(_refused, cases)) == [None] * len(cases)


def test_clients_verify_the_brokers_certificate(broker: Broker) -> None:
    """A client that does not trust the local CA (the system's CAs only) refuses the broker: no password is sent
    to a broker it cannot verify."""
    with pytest.raises(KafkaError):
        KafkaProducer(bootstrap_servers=broker.bootstrap, **REFUSED_FAST,
                      **client_options("SASL_SSL", "scoring", broker.password("scoring"))).send(
            "scoring.flags.v1", b"x").get(timeout=10)
    cert = subprocess.run(["openssl", "x509", "-in", str(broker.credentials / "tls" / "ca.pem"), "-noout",
                           "-subject"], capture_output=True, text=True, check=True).stdout
    assert "Tsunagu local CA" in cert


def _fact(child: str, fact_id: str, **overrides: object) -> bytes:
    fact = {"fact_id": fact_id, "child_id": child, "kind": "public_assistance", "relation": "household",
            "status": "asserted", "source_system": "public_assistance", "record_id": f"rec-{uuid.uuid4()}",
            "record_date": "2026-04-01", "valid_from": "2026-04-01", "valid_to": None,
            "attributes": {"case_no": "C-1", "start_date": "2026-04-01"}}
    fact.update(overrides)
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00", "subject": child,
                       "data": fact}).encode()


def test_the_scoring_worker_runs_end_to_end_with_only_its_acls(broker: Broker, tmp_path: Path) -> None:
    scoring = next(a for a in ACCESS if a.principal == "scoring")
    assert isinstance(scoring, Access) and scoring.group == "tsunagu-scoring"
    worker = Worker(broker.bootstrap, "tsunagu-scoring", tmp_path, today="2026-06-01", settings={
        "kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": str(broker.ca), "kafka_sasl_username": "scoring",
        "kafka_sasl_password_file": str(broker.credentials / "scoring")})
    reader = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                           **broker.options("evaluation"))  # reads scoring.flags.v1 as evaluation does
    flags = [TopicPartition("scoring.flags.v1", p) for p in sorted(reader.partitions_for_topic("scoring.flags.v1"))]
    reader.assign(flags)
    reader.seek_to_end()
    ends = {tp: reader.position(tp) for tp in flags}  # resolves the lazy seek now, before the worker runs
    assert len(ends) == len(flags)
    worker.start()
    try:
        assert worker.wait_for_assignment(timeout_s=120), worker.log.read_text(errors="replace")[-3000:]
        child = f"child-{uuid.uuid4().hex}"
        residence = _fact(child, f"{child}-res", kind="residence", relation="self", source_system="resident_registry",
                          valid_from="2021-04-01", record_date="2021-04-01",
                          attributes={"ward_code": "40133", "birth_date": "2015-05-01", "sex": "2",
                                      "resident_since": "2021-04-01"})
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, **broker.options("linkage"))
        producer.send("linkage.facts.v1", key=child.encode(), value=residence)
        producer.send("linkage.facts.v1", key=child.encode(), value=_fact(child, f"{child}-pa"))
        producer.flush()
        producer.close()
        found: list[dict] = []
        deadline = time.monotonic() + 90
        while not found and time.monotonic() < deadline:
            for records in reader.poll(timeout_ms=1000).values():
                found += [json.loads(r.value) for r in records if r.key == child.encode()]
        assert found, worker.log.read_text(errors="replace")[-3000:]
        assert found[0]["data"]["raised_items"] == [18]
        log = worker.log.read_text(errors="replace")
        assert "AuthorizationFailed" not in log and "SaslAuthentication" not in log
    finally:
        reader.close()
        worker.stop(signal.SIGTERM)
