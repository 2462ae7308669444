"""The child page shows until when each fact counts (issue 15, retention): scoring's evidence carries
``values.counts_until`` for a fact with a look-back window; the page says the day it stops counting, and says
nothing for a fact without one."""

from __future__ import annotations

import re

import pytest

from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import flags_event, raw

pytestmark = pytest.mark.integration


def test_the_child_page_shows_when_a_fact_stops_counting(container: Container) -> None:
    seed_child(container, "c-exp", "40131", items=[3])
    event = flags_event("c-exp", "40131", [3], [3, 17], tier_after="予防", as_of="2026-05-02")
    [_item3, item17] = event["data"]["after"]["flags"]
    item17["evidence"][0]["values"] = {"epds": 12, "counts_until": "2027-01-15"}  # the child's first birthday
    assert WorkerHandlers(container).process("flags", raw(event), where="test").outcome
    add_user(container, "higashi", "ward_staff", "40131")
    page = client_for(container, "higashi").get("/children/c-exp")
    assert page.status_code == 200
    shown = re.findall(r'data-counts-until="([^"]+)">([^<]+)<', page.text)
    assert shown == [("2027-01-15", "2027-01-15からは数えません（保存期間の終了）")]  # item 3's fact has no window
    assert "保存期間" in page.text
