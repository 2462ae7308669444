"""区が未確定の対象者 as HQ sees it: children whose listing is held for want of a ward are listed (no names), every
view is audited, everyone else is refused (403, audited); the worker's gauges read the same store — over SQLite and
PostgreSQL (a listing raised after a hold is JSON null there, not SQL NULL, and must not count)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord
from services.casework.bootstrap import Container
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer import held_listings
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.containers import FakeClock
from tests.integration.casework.web import add_user, client_for
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.integration


def hold(container: Container, child_id: str) -> None:
    processed = WorkerHandlers(container).process(
        "flags", raw(flags_event(child_id, None, [], [3], tier_after="見守り")), where="test")
    assert processed.outcome == "no_alert:no_ward"


def audit(container: Container, action: str) -> list[AuditRecord]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def test_hq_sees_the_held_children_and_each_view_is_audited(container: Container, clock: FakeClock) -> None:
    hold(container, "c-held")
    clock.advance(days=1)
    hold(container, "c-released")
    worker = WorkerHandlers(container)
    assert worker.process("profile", raw(profile_event("c-released", "40132")), where="t").outcome == "alert_raised"
    clock.advance(days=3)
    add_user(container, "hq", "hq_admin")
    hq = client_for(container, "hq")
    page = hq.get("/held")
    assert page.status_code == 200
    assert 'data-child="c-held"' in page.text and "c-released" not in page.text
    assert "区が未確定の対象者" in page.text and "母子保健" in page.text
    [row] = hq.get("/api/held").json()
    assert (row["child_id"], row["tier"], row["items"], row["held_since"]) == (
        "c-held", "見守り", [3], "2026-06-01T00:30:00+00:00")
    assert row["sources"] == ["maternal_child_health"]
    assert [(a.outcome, a.detail) for a in audit(container, "view_held")] == [("ok", "count=1")] * 2

    registry = CollectorRegistry()
    held_listings.refresh_gauges(container.uow(), CaseworkMetrics(registry), clock())
    assert registry.get_sample_value("tsunagu_casework_listings_held") == 1.0
    assert registry.get_sample_value("tsunagu_casework_listing_held_oldest_seconds") == 4 * 86400.0


@pytest.mark.parametrize(("role", "ward"), [("ward_staff", "40131"), ("privacy_officer", None),
                                            ("child_guidance", None), ("analyst", None), ("operator", None)])
def test_everyone_but_hq_is_refused_and_the_refusal_is_audited(container: Container, role: str,
                                                               ward: str | None) -> None:
    hold(container, "c-held")
    add_user(container, "someone", role, ward)
    client = client_for(container, "someone")
    assert client.get("/held").status_code == 403
    response = client.get("/api/held")
    assert response.status_code == 403 and "c-held" not in response.text
    assert 'href="/held"' not in client.get("/me").text  # no menu link either
    assert [(a.outcome, a.detail) for a in audit(container, "view_held")] == [("denied", "view_held")] * 2
