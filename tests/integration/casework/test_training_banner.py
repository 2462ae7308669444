"""研修モード: the banner 研修用・架空データ is on every HTML page the web app serves — each page route (found from
the app itself, so a new page is covered without editing this test), for each role that may open it, the error
pages and the login page with an error — and on none when training is off, where no training account can be
made (HQ's users page and API refuse the name) or log in. (An unknown path answers JSON 404 from the router, with
no page and no data.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.casework.bootstrap import Container
from services.casework.entrypoints.web import create_app
from services.casework.entrypoints.web_security import PRE_LOGIN_COOKIE
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import raw, review_event

pytestmark = pytest.mark.integration

BANNER = "研修用・架空データ"
TRAINING_USERS = ("kensyu01", "kensyu-hq", "kensyu-privacy")
LIVE_USERS = ("higashi01", "hq01", "privacy01")  # the same roles in a live deployment
NOT_PAGES = ("/api/", "/static", "/metrics", "/healthz", "/openapi.json")


def page_paths(container: Container, child_id: str) -> list[str]:
    """Every GET route that renders a page (not the API, CSV, metrics or static files), ids filled in: the app's
    OpenAPI paths (what /docs lists) and /docs itself."""
    paths = ["/docs"]
    for path, operations in create_app(container).openapi()["paths"].items():
        if "get" not in operations or path.startswith(NOT_PAGES) or path.endswith(".csv"):
            continue
        paths.append(path.replace("{child_id}", child_id))
    return sorted(paths)


def seeded(tmp_path: Path, clock: FakeClock, *, training: bool) -> tuple[Container, str, str]:
    name = "training-casework.db" if training else "casework.db"
    container = make_container(f"sqlite:///{tmp_path}/{name}", clock, training=training,
                               app_id="tsunagu-training-test" if training else "tsunagu-test")
    child = "train-child-1"
    seed_child(container, child, "40131", name="研修 花子", items=[3, 17])
    seed_child(container, "train-child-2", "40132", name="研修 太郎")
    WorkerHandlers(container).process("review", raw(review_event("train-review-1")), where="test")
    names = TRAINING_USERS if training else LIVE_USERS
    for username, role, ward in zip(names, ("ward_staff", "hq_admin", "privacy_officer"), ("40131", None, None),
                                    strict=True):
        add_user(container, username, role, ward)
    return container, child, "train-child-2"


@pytest.fixture
def training(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Container, str, str]]:
    container, child, other = seeded(tmp_path, clock, training=True)
    yield container, child, other
    container.engine.dispose()


def html_pages(client: TestClient, paths: list[str]) -> dict[str, tuple[int, str]]:
    out = {}
    for path in paths:
        response = client.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            out[path] = (response.status_code, response.text)
    return out


def test_banner_on_every_page_for_every_role(training: tuple[Container, str, str]) -> None:
    container, child, _ = training
    paths = page_paths(container, child)
    assert {"/", "/login", f"/children/{child}", "/admin/users", "/reviews", "/audit", "/me",
            "/privacy/extracts", "/docs"} <= set(paths)
    opened: set[str] = set()
    clients = {"anonymous": client_for(container)} | {
        user: client_for(container, user) for user in ("kensyu01", "kensyu-hq", "kensyu-privacy")}
    for who, client in clients.items():
        for path, (status, html) in html_pages(client, paths).items():
            assert BANNER in html, f"{path} as {who} ({status}) has no training banner"
            assert "<title>【研修】" in html, f"{path} as {who}: the title does not say 研修"
            if status == 200:
                opened.add(path)
    assert opened == set(paths), f"pages never rendered by any role: {set(paths) - opened}"


def test_banner_on_error_pages_and_failed_login(training: tuple[Container, str, str]) -> None:
    container, _, other_ward_child = training
    staff = client_for(container, "kensyu01")
    for path, status in ((f"/children/{other_ward_child}", 403), ("/children/no-such-child", 403),
                         ("/admin/users", 403)):
        response = staff.get(path)
        assert response.status_code == status, path
        assert BANNER in response.text, f"{path} ({status}) has no training banner"
    anonymous = client_for(container)
    anonymous.get("/login")
    token = anonymous.cookies.get(PRE_LOGIN_COOKIE) or ""
    failed = anonymous.post("/login", data={"username": "kensyu01", "password": "wrong", "login_csrf": token})
    assert "ユーザー名またはパスワード" in failed.text or "ログイン" in failed.text
    assert failed.headers["content-type"].startswith("text/html")
    assert BANNER in failed.text


def test_no_banner_outside_training(tmp_path: Path, clock: FakeClock) -> None:
    container, child, _ = seeded(tmp_path, clock, training=False)
    try:
        paths = page_paths(container, child)
        for user in (None, *LIVE_USERS):
            for path, (_, html) in html_pages(client_for(container, user), paths).items():
                assert BANNER not in html, path
                assert "【研修】" not in html, path
        hq = client_for(container, "hq01")
        made = hq.post("/api/users", json={"username": "kensyu01", "password": "Zq8!training-like-pw",
                                           "role": "ward_staff", "ward_code": "40131"})
        assert made.status_code == 422 and "training accounts" in made.text, made.text
        assert hq.post("/api/users", json={"username": "higashi02", "password": "Zq8!a-live-staff-pw",
                                           "role": "ward_staff", "ward_code": "40131"}).status_code == 201
    finally:
        container.engine.dispose()
