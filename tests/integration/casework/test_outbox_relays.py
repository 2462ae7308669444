"""Several casework workers on one PostgreSQL database: their outbox relays take turns, so each row goes out once.

Before the claim, every instance's relay read the rows another had not yet marked and sent them too (25–47 alert
ids twice with two instances in `benchmarks.pipeline_scaleout`, 53–186 with three).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from services.casework.adapters import unit_of_work as sql_uow
from services.casework.adapters.orm import OutboxMessage
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.containers import FakeClock, make_container

pytestmark = pytest.mark.integration

ROWS = 1_300  # three rounds of 500 per relay


def _seed(container: object, clock: FakeClock) -> None:
    with container.sessions.begin() as session:  # type: ignore[attr-defined]
        session.add_all(OutboxMessage(topic="t.casework.alerts.v1", key=f"c-{i % 17}", payload=f'{{"n": {i}}}',
                                      created_at=clock()) for i in range(ROWS))


def test_three_relays_on_one_database_send_every_row_once_in_order(pg_url: str) -> None:
    clock = FakeClock()
    containers = [make_container(pg_url, clock) for _ in range(3)]
    try:
        _seed(containers[0], clock)
        sent: list[tuple[int, str]] = []  # (relay, payload) in the order acknowledged

        def sender(relay: int):  # type: ignore[no-untyped-def]
            async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
                await asyncio.sleep(0.05)  # the broker's acknowledgement: the others' rounds start meanwhile
                sent.extend((relay, (value or b"").decode()) for _, _, value in batch)
            return send_many

        async def main() -> list[int]:
            workers = [WorkerHandlers(c) for c in containers]
            return list(await asyncio.gather(*(w.publish_outbox(sender(i)) for i, w in enumerate(workers))))

        published = asyncio.run(main())
        payloads = [p for _, p in sent]
        twice = [p for p, n in Counter(payloads).items() if n > 1]
        assert not twice, f"{len(twice)} rows sent by more than one relay"
        assert sum(published) == ROWS and len(payloads) == ROWS
        assert payloads == [f'{{"n": {i}}}' for i in range(ROWS)], "rows left the outbox out of order"
        with containers[0].sessions.begin() as session:
            assert session.query(OutboxMessage).filter(OutboxMessage.published_at.is_(None)).count() == 0
    finally:
        for c in containers:
            c.engine.dispose()


def test_a_relay_waits_for_another_relays_round_only_up_to_its_lock_timeout(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_uow, "RELAY_LOCK_TIMEOUT", "300ms")
    clock = FakeClock()
    first, second = make_container(pg_url, clock), make_container(pg_url, clock)
    try:
        with first.uow() as holding:
            holding.outbox.claim()  # a round in progress (a worker stopped mid-send)
            with second.uow() as waiting, pytest.raises(sql_uow.OutboxClaimTimeout, match="300ms"):
                waiting.outbox.claim()
        with second.uow() as after:  # the first round over: the claim is free again
            after.outbox.claim()
    finally:
        first.engine.dispose()
        second.engine.dispose()
