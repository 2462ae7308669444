"""One family through all four services over the real broker.

A 住民記録 event registers a child and its household; a 生活保護 event starts assistance for that household;
ingest validates, linkage resolves the child by 宛名番号, scoring raises item 18 with evidence, casework
raises one alert for the child's ward. A malformed event before them is dead-lettered with its reason;
replaying the same events raises no second alert; ending the assistance clears the flag.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from tests.e2e.services import RunningServices

pytestmark = pytest.mark.e2e

WARD = "40133"  # 中央区
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


@pytest.fixture(scope="module")
def services(kafka_bootstrap: str, fresh_database_url: str, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[RunningServices]:
    running = RunningServices(kafka_bootstrap, tmp_path_factory.mktemp("e2e"), fresh_database_url)
    running.start()  # stops what it started if it fails
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def ward_user(services: RunningServices) -> httpx.Client:
    password = uuid.uuid4().hex
    username = f"chuo-{services.run_id}"
    services.cli("create-user", "--username", username, "--password", password, "--role", "ward_staff",
                 "--ward", WARD, "--division", "子育て支援課")
    client = httpx.Client(base_url=f"http://127.0.0.1:{services.web_port}", timeout=10)
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


class Family:
    """A synthetic household: a guardian and a child, with unique numbers and a unique kana name."""

    def __init__(self) -> None:
        rng = random.Random()
        base = rng.randrange(10**10, 10**11)
        self.guardian_atena = str(base)
        self.child_atena = str(base + 1)
        self.household_no = str(base + 7)
        self.case_no = f"C{base}"
        self.given_kana = "".join(rng.choice(KATAKANA) for _ in range(6))
        today = date.today()
        # Moved in at five, after every checkup window closed: the household's 生活保護 is its only signal.
        self.child_birth = (today - timedelta(days=365 * 5 + 60)).isoformat()
        self.moved_in = (today - timedelta(days=30)).isoformat()
        self.assistance_start = (today - timedelta(days=20)).isoformat()

    def event(self, event_id: str, type_: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                "time": "2026-04-01T09:00:00+09:00", "subject": data.get("atena_no") or self.household_no,
                "datacontenttype": "application/json", "schemaversion": 1, "data": data}

    def person(self, atena: str, relation: str, name: str, kana: str, birth: str, sex: str) -> dict[str, Any]:
        return {"atena_no": atena, "household_no": self.household_no, "relation_to_head": relation,
                "name_kanji": name, "name_kana": kana, "birth_date": birth, "sex": sex,
                "address": "福岡市中央区天神1丁目1-1", "ward_code": WARD, "postal_code": "810-0001",
                "effective_date": self.moved_in, "reason": "move_in"}

    def registrations(self) -> list[tuple[str, str, dict[str, Any]]]:
        topic, source = "source.resident-registry.v1", "/fukuoka/resident-registry"
        guardian = self.person(self.guardian_atena, "世帯主", "試験 花子", "シケン ハナコ", "1990-05-05", "2")
        child = self.person(self.child_atena, "子", "試験 太郎", f"シケン {self.given_kana}", self.child_birth, "1")
        return [
            (topic, self.guardian_atena, self.event(f"rr-{self.guardian_atena}", "resident_registry.person.registered",
                                                     source, guardian)),
            (topic, self.child_atena, self.event(f"rr-{self.child_atena}", "resident_registry.person.registered",
                                                  source, child)),
        ]

    def assistance_started(self) -> tuple[str, str, dict[str, Any]]:
        data = {"case_no": self.case_no, "household_no": self.household_no, "head_atena_no": self.guardian_atena,
                "start_date": self.assistance_start}
        return ("source.public-assistance.v1", self.guardian_atena,
                self.event(f"pa-start-{self.case_no}", "public_assistance.case.started", "/fukuoka/public-assistance",
                           data))

    def assistance_ended(self) -> tuple[str, str, dict[str, Any]]:
        data = {"case_no": self.case_no, "household_no": self.household_no, "head_atena_no": self.guardian_atena,
                "end_date": (date.today() - timedelta(days=1)).isoformat()}
        return ("source.public-assistance.v1", self.guardian_atena,
                self.event(f"pa-end-{self.case_no}", "public_assistance.case.ended", "/fukuoka/public-assistance",
                           data))


def publish(bootstrap: str, messages: list[tuple[str, str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for topic, key, value in messages:
            payload = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
            producer.send(topic, key=key.encode(), value=payload).get(timeout=10)
    finally:
        producer.close()


def eventually(check: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def alerts_for(client: httpx.Client, family: Family) -> list[dict[str, Any]]:
    response = client.get("/api/alerts")
    assert response.status_code == 200, response.text
    # The inbox carries the child's kana name: no child page is read (each read is an audited access).
    return [alert for alert in response.json() if family.given_kana in (alert.get("name_kana") or "")]


def dead_letters_for(bootstrap: str, key: str) -> list[DeadLetterHeaders]:
    consumer = KafkaConsumer("ingest.deadletter.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000, group_id=None)
    try:
        return [DeadLetterHeaders.from_kafka(m.headers) for m in consumer if m.key == key.encode()]
    finally:
        consumer.close()


def test_an_assisted_household_reaches_the_ward_once_and_clears(
        services: RunningServices, ward_user: httpx.Client, kafka_bootstrap: str) -> None:
    family = Family()
    poison_key = f"poison-{family.case_no}"

    # A malformed event first: the good ones after it must still flow.
    publish(kafka_bootstrap, [("source.public-assistance.v1", poison_key, b'{"specversion": "1.0", "id": ')])
    publish(kafka_bootstrap, [*family.registrations(), family.assistance_started()])

    alerts = eventually(lambda: alerts_for(ward_user, family), what="the alert in the ward inbox")
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["ward_code"] == WARD
    assert 18 in alert["items"]

    child = ward_user.get(f"/api/children/{alert['child_id']}").json()
    flag = next(f for f in child["flags"] if f["item"] == 18)
    assert flag["evidence"], "item 18 must say why"
    assert flag["evidence"][0]["source_system"] == "public_assistance"

    letters = eventually(lambda: dead_letters_for(kafka_bootstrap, poison_key), what="the dead letter")
    assert letters[0].error_class == "not_json"
    assert letters[0].topic == "source.public-assistance.v1"
    assert letters[0].reason

    # The same events again, then the end of assistance: still one alert, and the flag clears.
    publish(kafka_bootstrap, [*family.registrations(), family.assistance_started()])
    publish(kafka_bootstrap, [family.assistance_ended()])

    def cleared() -> bool:
        profile = ward_user.get(f"/api/children/{alert['child_id']}").json()
        return all(f["item"] != 18 for f in profile["flags"])

    eventually(cleared, what="item 18 to clear")
    assert len(alerts_for(ward_user, family)) == 1
    services.assert_alive()


def test_each_service_exposes_its_metrics(services: RunningServices) -> None:
    expected = {
        "ingest": "tsunagu_ingest_processing_duration_seconds",
        "linkage": "tsunagu_linkage_processing_duration_seconds",
        "scoring": "tsunagu_scoring_processing_duration_seconds",
        "casework": "tsunagu_casework_processing_duration_seconds",
    }
    for service, metric in expected.items():
        body = httpx.get(f"http://127.0.0.1:{services.metrics_ports[service]}/metrics", timeout=5).text
        assert f"{metric}_bucket" in body, service
        assert f"tsunagu_{service}_" in body and "_processed_total" in body, service
    web = httpx.get(f"http://127.0.0.1:{services.web_port}/metrics", timeout=5)
    assert web.status_code == 200


def test_service_logs_carry_no_personal_data(services: RunningServices) -> None:
    logs = "".join(p.read_text("utf-8", errors="replace") for p in Path(services.workdir).glob("*.log"))
    for value in ("試験", "シケン", "天神1丁目"):
        assert value not in logs
