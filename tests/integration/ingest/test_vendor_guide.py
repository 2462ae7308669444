"""docs/vendor-guide.md and docs/school-csv.md as a vendor runs them, against a real broker, worker and intake.

The guide's own command blocks are read from the file and run with bash, with only the addresses replaced
(bootstrap, intake port); each check is what the guide says the command does.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.entrypoints.examples import example_event

from .conftest import ROOT, KafkaKit

pytestmark = pytest.mark.integration

GUIDE = (ROOT / "docs" / "vendor-guide.md").read_text(encoding="utf-8")
SCHOOL = (ROOT / "docs" / "school-csv.md").read_text(encoding="utf-8")
APP_ID = "tsunagu-ingest-guide-test"  # its own consumer group: the other ingest module's worker is not disturbed


def block(doc: str, containing: str) -> str:
    """The one ```sh block of the doc that contains ``containing``."""
    (found,) = [b for b in re.findall(r"```sh\n(.*?)```", doc, re.S) if containing in b]
    return str(found).strip()


class Stack:
    def __init__(self, bootstrap: str, base: Path) -> None:
        self.bootstrap, self.base = bootstrap, base
        self.http_port, self.metrics_port = KafkaKit.free_port(), KafkaKit.free_port()
        self.env = {**os.environ, "TSUNAGU_INGEST_KAFKA_BOOTSTRAP": bootstrap, "TSUNAGU_INGEST_APP_ID": APP_ID,
                    "TSUNAGU_INGEST_DATA_DIR": str(base / "data"), "TSUNAGU_INGEST_LOG_LEVEL": "warn",
                    "TSUNAGU_INGEST_METRICS_PORT": str(self.metrics_port), "TSUNAGU_ENVIRONMENT": "development",
                    "TSUNAGU_INGEST_HTTP_PORT": str(self.http_port), "TSUNAGU_TOKEN": "dev-public_assistance",
                    "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        for name in ("TSUNAGU_INGEST_ENVIRONMENT", "TSUNAGU_INGEST_HTTP_TOKENS", "TSUNAGU_INGEST_HTTP_TOKENS_FILE"):
            self.env.pop(name, None)

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """A guide command as written, but for the addresses; from the repository root like the guide."""
        command = command.replace("127.0.0.1:9092", self.bootstrap)
        command = command.replace("127.0.0.1:8001", f"127.0.0.1:{self.http_port}")
        command = command.replace("event.json", str(self.base / "event.json"))
        return subprocess.run(["bash", "-c", command], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=120)

    def get(self, path: str, port: int | None = None) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port or self.http_port}{path}", timeout=10) as answer:
            return str(answer.read().decode())


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    KafkaKit.skip_to_end(kafka_bootstrap, APP_ID)
    running = Stack(kafka_bootstrap, tmp_path_factory.mktemp("vendor-guide"))
    log = (running.base / "processes.log").open("ab")
    procs = [subprocess.Popen([sys.executable, "-m", f"services.ingest.entrypoints.{name}"], cwd=ROOT,
                              env=running.env, stdout=log, stderr=subprocess.STDOUT)
             for name in ("worker", "http_intake")]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                running.get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the HTTP intake did not answer /healthz within 60 s") from None
                time.sleep(0.3)
        yield running
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def record_ids(stack: Stack, start: Any, tag: str, count: int) -> list[str]:
    found = KafkaKit.read_from(stack.bootstrap, start, until=count, match=tag.encode(), timeout_s=90, quiet_s=1)
    return sorted(json.loads(value or b"")["id"] for _, value, _ in found)


def own_dead_letters(stack: Stack, system: str = "public_assistance") -> list[dict[str, Any]]:
    command = block(GUIDE, "/deadletters").replace("public_assistance", system)
    answer = stack.run(command)
    assert answer.returncode == 0, answer.stderr
    return list(json.loads(answer.stdout)["dead_letters"])


def wait_for(what: str, check: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def write_event(stack: Stack, event: dict[str, Any]) -> None:
    # Written the way people write JSON by hand: spread over lines (the guide makes it compact for kcat).
    (stack.base / "event.json").write_text(json.dumps(event, ensure_ascii=False, indent=2), encoding="utf-8")


def test_the_example_command_writes_one_compact_line(stack: Stack) -> None:
    answer = stack.run(block(GUIDE, "services.ingest.entrypoints.examples"))
    assert answer.returncode == 0, answer.stderr
    text = (stack.base / "event.json").read_text(encoding="utf-8")
    assert text.count("\n") == 1 and json.loads(text)["type"] == "public_assistance.case.started"


def test_the_kcat_recipe_publishes_a_multi_line_event_file_as_one_event(stack: Stack) -> None:
    tag = uuid.uuid4().hex
    start = KafkaKit.end_offsets(stack.bootstrap, "ingest.records.v1")
    dlq_start = KafkaKit.end_offsets(stack.bootstrap, "ingest.deadletter.v1")
    write_event(stack, example_event("public_assistance.case.started", event_id=f"{tag}-kcat"))
    recipe = block(GUIDE, "kcat -P")
    if shutil.which("kcat"):
        answer = stack.run(recipe)
        assert answer.returncode == 0, answer.stderr
    else:  # no kcat here: the exact bytes the recipe sends (jq -c's compact line), with kafka-python
        compact = stack.run("jq -c . event.json").stdout.rstrip("\n").encode()
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
        producer.send("source.public-assistance.v1", key=b"100000000020", value=compact,
                      headers=[("vendor-trace", b"batch-42")]).get(timeout=30)
        producer.close()

    assert record_ids(stack, start, tag, 1) == [f"{tag}-kcat"]
    assert KafkaKit.read_from(stack.bootstrap, dlq_start, until=1, match=tag.encode(), timeout_s=2) == []


def test_an_over_size_event_sent_with_the_recipe_comes_back_as_the_vendors_own_dead_letter(stack: Stack) -> None:
    tag = uuid.uuid4().hex
    event = example_event("public_assistance.case.started", event_id=f"{tag}-big")
    event["data"]["padding"] = "x" * 1_200_000  # over 1 MiB, under the broker's 2 MiB
    write_event(stack, event)
    if shutil.which("kcat"):
        answer = stack.run(block(GUIDE, "kcat -P"))
        assert answer.returncode == 0, answer.stderr
    else:
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, max_request_size=2_097_152)
        producer.send("source.public-assistance.v1", key=b"1", value=json.dumps(event).encode()).get(timeout=30)
        producer.close()

    letter = wait_for("the too_large dead letter", lambda: [d for d in own_dead_letters(stack)
                                                          if d["event_id"] == f"{tag}-big"])[0]
    assert letter["error_class"] == "too_large" and "the limit is 1048576" in letter["reason"]
    assert letter["intake"] == "kafka"


def test_curl_posts_with_the_development_token_and_a_reused_id_is_refused_with_409(stack: Stack) -> None:
    tag = uuid.uuid4().hex
    start = KafkaKit.end_offsets(stack.bootstrap, "ingest.records.v1")
    post = block(GUIDE, "/events") + " -w '\\n%{http_code}'"
    write_event(stack, example_event("public_assistance.case.started", event_id=f"{tag}-http"))
    first = stack.run(post)
    again = stack.run(post)
    write_event(stack, example_event("public_assistance.case.started", event_id=f"{tag}-http",
                                     start_date="2025-06-01"))
    correction = stack.run(post)

    body, status = first.stdout.rsplit("\n", 1)
    assert status == "202" and json.loads(body) == {"id": f"{tag}-http", "topic": "source.public-assistance.v1"}
    assert again.stdout.rsplit("\n", 1)[1] == "202"  # the same event again: a no-op
    body, status = correction.stdout.rsplit("\n", 1)
    assert status == "409" and json.loads(body)["error_class"] == "duplicate_id_different_content"
    assert record_ids(stack, start, tag, 1) == [f"{tag}-http"]
    (letter,) = [d for d in own_dead_letters(stack) if d["event_id"] == f"{tag}-http"]
    assert (letter["error_class"], letter["intake"]) == ("duplicate_id_different_content", "http")


def test_another_systems_token_cannot_read_these_dead_letters(stack: Stack) -> None:
    command = block(GUIDE, "/deadletters").replace("public_assistance", "childcare") + " -o /dev/null -w '%{http_code}'"
    assert stack.run(command).stdout == "403"


def test_the_csv_import_does_what_school_csv_md_says(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:10].upper()
    start = KafkaKit.end_offsets(stack.bootstrap, "ingest.records.v1")
    (stack.base / "students.csv").write_bytes(
        (f"児童生徒番号,学校コード,氏名,氏名カナ,生年月日,性別\r\n"
         f"G{tag}1,B140210000013,福岡 太郎,フクオカ タロウ,H30/4/1,1\r\n"
         f"G{tag}2,B140210000013,福岡 次郎,フクオカ ジロウ,平成32年4月1日,1\r\n").encode("cp932"))
    command = block(SCHOOL, "import_csv").replace("students.csv", str(stack.base / "students.csv"))
    answer = stack.run(command)

    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert "accepted and published: 1" in lines and "rejected: 1" in lines and "  invalid_value: 1" in lines
    with (stack.base / "students.csv.rejected.csv").open(encoding="utf-8-sig", newline="") as rejected:
        rows = list(csv.reader(rejected))
    assert rows[1][:3] == ["3", "生年月日 (birth_date): date outside its era (era year past the era's end, or before "
                                "its first day)", "invalid_value"]
    assert len(record_ids(stack, start, f"G{tag}1", 1)) == 1
    stack.env["TSUNAGU_TOKEN"] = "dev-school_students"
    try:
        letters = wait_for("the school row's dead letter", lambda: [
            d for d in own_dead_letters(stack, "school_students") if d["intake"] == "csv" and d["source_offset"] == 3
            and "birth_date" in d["reason"]])
    finally:
        stack.env["TSUNAGU_TOKEN"] = "dev-public_assistance"
    assert "福岡" not in json.dumps(letters, ensure_ascii=False)
    metrics = wait_for("the worker to count the school refusal", lambda: re.search(
        r'tsunagu_ingest_events_failed_total\{intake="csv",reason="invalid_value"\} ([1-9][0-9.]*)',
        stack.get("/metrics", stack.metrics_port)))
    assert float(metrics.group(1)) >= 1


def test_the_operators_inspection_command_keeps_reasons_with_commas_whole(stack: Stack) -> None:
    if not shutil.which("kcat") or not shutil.which("jq"):
        pytest.skip("kcat and jq are what the operators' command uses")
    tag = uuid.uuid4().hex
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
    # another system's type: the reason lists the expected types, with commas
    producer.send("source.public-assistance.v1", key=b"k", value=json.dumps(example_event(
        "childcare.enrolment.started", event_id=f"{tag}-commas")).encode())
    producer.close()
    wait_for("the dead letter", lambda: [d for d in own_dead_letters(stack) if d["event_id"] == f"{tag}-commas"])

    answer = stack.run(block(GUIDE, "kcat -C"))
    assert answer.returncode == 0, answer.stderr
    for line in answer.stdout.splitlines():
        headers = json.loads(line)["headers"]
        pairs = list(zip(headers[::2], [v.encode() for v in headers[1::2]], strict=True))
        dlq = DeadLetterHeaders.from_kafka(pairs)
        if dlq.event_id == f"{tag}-commas":
            assert dlq.reason == ("type: not an event type of public_assistance (expected one of "
                                  "public_assistance.case.started, public_assistance.case.ended)")
            assert "payload" not in json.loads(line)
            return
    raise AssertionError("the dead letter is not in the command's output")


def test_the_intake_serves_its_api_description_from_itself(stack: Stack) -> None:
    spec = json.loads(stack.get("/openapi.json"))
    assert "/v1/sources/{system}/events" in spec["paths"]
    page = stack.get("/docs")
    assert "/openapi.json" in page and "<script" not in page and "<link" not in page
