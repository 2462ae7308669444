"""Issue 20: a worker started before its broker waits for it (one line per attempt) instead of exiting, then
works. The broker "arrives" as a forwarder opening on the port the worker was told to use."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.scoring.worker import Worker, start_group_at_end

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _forwarder(port: int, target: str) -> Iterator[None]:
    """127.0.0.1:port → the broker's bootstrap address, in a thread of its own."""
    host, target_port = target.rsplit(":", 1)
    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = loop.run_until_complete(asyncio.start_server(connect, "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def _fact(child: str, fact_id: str, kind: str, **attributes: object) -> bytes:
    data = {"fact_id": fact_id, "child_id": child, "kind": kind, "relation": "self", "status": "asserted",
            "source_system": "test", "record_id": f"rec-{uuid.uuid4()}", "record_date": "2026-04-01",
            "valid_from": "2026-04-01", "valid_to": None, "attributes": attributes, "version": 1}
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00", "subject": child,
                       "data": data}).encode()


def test_a_worker_started_before_the_broker_waits_for_it_then_scores(kafka_bootstrap: str, tmp_path: Path) -> None:
    port, app_id = _free_port(), f"test-scoring-late-{uuid.uuid4().hex[:8]}"
    start_group_at_end(kafka_bootstrap, app_id)
    worker = Worker(f"127.0.0.1:{port}", app_id, tmp_path, today="2026-06-01")
    reader = KafkaConsumer(bootstrap_servers=kafka_bootstrap)  # no group: assigned by hand, read from the end
    partitions = [TopicPartition("scoring.flags.v1", p) for p in reader.partitions_for_topic("scoring.flags.v1")]
    reader.assign(partitions)
    reader.seek_to_end()
    for tp in partitions:
        reader.position(tp)
    try:
        worker.start()
        deadline = time.monotonic() + 20
        while "not reachable" not in worker.log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        log = worker.log.read_text(errors="replace")
        assert worker.proc is not None and worker.proc.poll() is None, f"the worker exited:\n{log[-2000:]}"
        assert "Kafka broker at 127.0.0.1" in log and "not reachable (KafkaConnectionError); retrying" in log
        assert "Unable to bootstrap" not in log

        with _forwarder(port, kafka_bootstrap):  # the broker comes up
            assert worker.wait_for_assignment(60), "no partitions after the broker came up"
            child = f"late-{uuid.uuid4().hex}"
            producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
            producer.send("linkage.facts.v1", key=child.encode(), value=_fact(
                child, f"{child}-res", "residence", ward_code="40133", birth_date="2015-05-01", sex="1"))
            producer.send("linkage.facts.v1", key=child.encode(), value=_fact(
                child, f"{child}-pa", "public_assistance", case_no="C1"))
            producer.flush()
            producer.close()
            found: list[dict] = []
            deadline = time.monotonic() + 45
            while not found and time.monotonic() < deadline:
                for records in reader.poll(timeout_ms=500).values():
                    found += [json.loads(r.value) for r in records if r.key == child.encode()]
            assert found and found[0]["data"]["raised_items"] == [18]
    finally:
        worker.stop(signal.SIGTERM)
        reader.close()
