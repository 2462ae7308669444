"""The live inbox: one poller per web process looks for new alerts and fans them out over SSE.

The worker commits alerts to the case database; polling its sequence every ``sse_poll_interval_s``
keeps the web process free of Kafka and works the same on SQLite and PostgreSQL. PostgreSQL may
commit sequence numbers out of order, so each poll looks a little behind and skips what it sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from services.casework.bootstrap import Container
from services.casework.domain.access import Permission, Principal, Role
from services.casework.domain.items import item_label, signal_label
from services.casework.entrypoints.web_common import AppContainer, Auth, require
from services.casework.entrypoints.web_security import recheck_session, session_token
from services.casework.metrics import observe_since
from services.casework.service_layer import audit_log, views
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.views import InboxRow

log = logging.getLogger("tsunagu.casework.web")
router = APIRouter(prefix="/api", tags=["api"])
LOOK_BEHIND = 50
KEEPALIVE_S = 15.0
_EVERYONE = Principal(user_id="system", username="system", role=Role.HQ_ADMIN, ward_code=None)


@dataclass(eq=False)  # identity: each open connection is its own subscriber
class Subscriber:
    principal: Principal
    queue: asyncio.Queue[InboxRow] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


class AlertBroadcaster:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.subscribers: set[Subscriber] = set()
        self.last_seq = 0
        self.sent: deque[int] = deque(maxlen=LOOK_BEHIND * 4)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.last_seq = await asyncio.to_thread(self._max_seq)
        self._task = asyncio.create_task(self._run(), name="alert-broadcaster")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    def _max_seq(self) -> int:
        from services.casework.adapters.repository import SqlCaseRepository

        with self.container.read_sessions() as session:
            return SqlCaseRepository(session).max_alert_seq()

    def _poll(self) -> list[InboxRow]:
        with self.container.read_sessions() as session:
            rows = views.inbox(session, _EVERYONE, self.container.clock().date(),
                               after_seq=max(0, self.last_seq - LOOK_BEHIND), limit=2000)
        return [r for r in sorted(rows, key=lambda r: r.seq) if r.seq not in self.sent]

    async def _run(self) -> None:
        while True:
            try:
                if self.subscribers:
                    for row in await asyncio.to_thread(self._poll):
                        self.sent.append(row.seq)
                        self.last_seq = max(self.last_seq, row.seq)
                        for sub in list(self.subscribers):
                            if sub.principal.sees_ward(row.ward_code) and not sub.queue.full():
                                sub.queue.put_nowait(row)
                else:
                    self.last_seq = await asyncio.to_thread(self._max_seq)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live inbox poll failed")
            await asyncio.sleep(self.container.settings.sse_poll_interval_s)


def sse_payload(row: InboxRow) -> str:
    data: dict[str, Any] = row.api()
    data["item_labels"] = [item_label(i) for i in row.items]
    data["signal_labels"] = [signal_label(code) for code in row.signals]
    return f"id: {row.seq}\nevent: alert\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/alerts/stream", summary="Live inbox: Server-Sent Events, one `alert` event per new alert")
async def alert_stream(request: Request, auth: Auth, container: AppContainer) -> StreamingResponse:
    """Every delivery and every ``sse_session_check_s`` re-checks the session: logout, deactivation and the idle
    and absolute timeouts end the stream within seconds. Each alert delivered is an audit entry."""
    require(container, auth, Permission.VIEW_CASES, "list_alerts")
    broadcaster: AlertBroadcaster = request.app.state.broadcaster
    subscriber = Subscriber(auth.principal)
    token = session_token(request)
    check_every = max(0.05, container.settings.sse_session_check_s)

    def audit_open() -> None:
        with container.sessions.begin() as session:
            audit_log.append(session, Actor.of(auth.principal, auth.client), "open_live_inbox", container.clock(),
                             ward_code=auth.principal.ward_scope())

    def still_allowed() -> bool:
        return recheck_session(container, token) == auth.principal

    def deliver(row: InboxRow) -> bool:
        """Re-checks the session and audits the delivery in one transaction; False ends the stream."""
        if not still_allowed():
            return False
        with container.sessions.begin() as session:
            audit_log.append(session, Actor.of(auth.principal, auth.client), "live_alert", container.clock(),
                             child_id=row.child_id, target=row.alert_id, ward_code=row.ward_code)
        return True

    await asyncio.to_thread(audit_open)

    async def events() -> AsyncIterator[str]:
        broadcaster.subscribers.add(subscriber)
        container.metrics.sse_clients.inc()
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    row = await asyncio.wait_for(subscriber.queue.get(), timeout=check_every)
                except TimeoutError:
                    if not await asyncio.to_thread(still_allowed) or await request.is_disconnected():
                        return
                    if loop.time() - last_sent >= KEEPALIVE_S:
                        last_sent = loop.time()
                        yield ": keepalive\n\n"
                    continue
                if not await asyncio.to_thread(deliver, row):
                    return
                last_sent = loop.time()
                observe_since(container.metrics.alert_to_sse_sent, row.raised_at, container.clock())
                yield sse_payload(row.as_seen_by(auth.principal))
        finally:
            broadcaster.subscribers.discard(subscriber)
            container.metrics.sse_clients.dec()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})
