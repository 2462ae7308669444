"""仮名加工データの作成 from the HQ page (issue 15), over SQLite and PostgreSQL: an HQ user states purpose and period,
sees the k-anonymity report, downloads the CSV/Parquet and the data dictionary; the extract is registered and audited
exactly as the ``extract`` command's (same use case); bad requests get a Japanese refusal and change nothing."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from services.casework.adapters.orm import AuditRecord, PrivacyExtract, PrivacyExtractSubject, PrivacyKey
from services.casework.bootstrap import Container
from services.casework.domain.k_anonymity import QUASI_IDENTIFIERS, is_k_anonymous
from services.casework.service_layer import privacy_extract
from tests.integration.casework.web import add_user, client_for
from tests.unit.casework.privacy_data import populate

pytestmark = pytest.mark.integration
FORM = {"purpose": "令和7年度 効果検証（大学との共同研究）", "period_from": "2025-04-01", "period_to": "2026-05-31",
        "recipient": "九州の大学"}


@pytest.fixture
def env(container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setattr(container.settings, "extract_dir", tmp_path / "extracts")
    for name, role in (("hq", "hq_admin"), ("privacy", "privacy_officer"), ("higashi", "ward_staff")):
        add_user(container, name, role, "40131" if role == "ward_staff" else None)
    return container


def audit(c: Container, action: str) -> list[AuditRecord]:
    with c.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def registered(c: Container) -> int:
    with c.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(PrivacyExtract)) or 0)


def post(client: object, form: dict[str, str]) -> object:
    return client.post("/privacy/extracts", data={**form, "csrf_token": client.headers["X-CSRF-Token"]},  # type: ignore[attr-defined]
                       follow_redirects=False)


def test_hq_produces_an_extract_from_the_page_sees_the_k_report_and_downloads_the_files(env: Container) -> None:
    people = populate(env, n=120)
    hq = client_for(env, "hq")
    page = hq.get("/privacy/extracts")
    assert page.status_code == 200 and 'action="/privacy/extracts"' in page.text and "利用目的（必須）" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # nothing loaded from outside the machine
    assert '<script src="/static/privacy_extract.js" defer>' in page.text
    assert "作成中" in hq.get("/static/privacy_extract.js").text  # one submission only, and it says it is running

    created = post(hq, FORM)
    assert created.status_code == 303, created.text  # type: ignore[attr-defined]
    location = created.headers["location"]  # type: ignore[attr-defined]
    extract_id = re.fullmatch(r"/privacy/extracts/([0-9a-f-]{36})\?created=1", location).group(1)  # type: ignore[union-attr]

    detail = hq.get(location)
    assert detail.status_code == 200 and "k-匿名性の報告" in detail.text and "提供台帳に登録しました" in detail.text
    with env.sessions() as s:
        extract = s.get(PrivacyExtract, extract_id)
        assert extract is not None and extract.purpose == FORM["purpose"] and extract.recipient == "九州の大学"
        assert extract.period_from == "2025-04-01" and extract.period_to == "2026-05-31"
        assert extract.created_by_role == "hq_admin" and extract.files and extract.key_id
        assert s.get(PrivacyKey, extract.key_id).key_hex  # type: ignore[union-attr]
        subjects = s.scalar(select(func.count()).where(PrivacyExtractSubject.extract_id == extract_id))
        files = dict(extract.files)
        report = dict(extract.k_report)
    assert f"{report['subjects_released']}人" in detail.text and subjects == report["subjects_released"]
    for name in ("children.csv", "children.parquet", "items.csv", "alerts.parquet", "data_dictionary.csv"):
        assert f'href="/privacy/extracts/{extract_id}/files/{name}"' in detail.text

    # the downloads are the registered bytes; the released children are 5-anonymous and carry no identifier
    got = {}
    for name in ("children.csv", "children.parquet", "data_dictionary.csv", "k_anonymity.json", "manifest.json"):
        response = hq.get(f"/privacy/extracts/{extract_id}/files/{name}")
        assert response.status_code == 200, (name, response.text)
        if name != "manifest.json":  # the manifest is not in the register: it lists the others' hashes
            assert hashlib.sha256(response.content).hexdigest() == files[name]
        assert response.headers["cache-control"] == "no-store"
        got[name] = response.content
    rows = list(csv.DictReader(io.StringIO(got["children.csv"].decode("utf-8-sig"))))
    assert len(rows) == report["subjects_released"] > 0
    assert is_k_anonymous([tuple(r[q] for q in QUASI_IDENTIFIERS) for r in rows], 5)
    table: pa.Table = pq.read_table(io.BytesIO(got["children.parquet"]))
    assert table.num_rows == len(rows)
    everything = b"".join(got.values()).decode("utf-8", "replace")
    for person in people:
        assert person["id"] not in everything and person["name"] not in everything
    assert "child_pseudonym" in got["data_dictionary.csv"].decode("utf-8-sig")
    manifest = json.loads(got["manifest.json"])
    assert manifest["extract_id"] == extract_id and manifest["files"] == files
    assert manifest["purpose"] == FORM["purpose"]

    # registered and audited like the command, but from the browser (client = its address, not "cli")
    [made] = audit(env, "masked_extract")
    assert made.outcome == "ok" and made.target == extract_id and made.client != "cli" and made.role == "hq_admin"
    downloads = audit(env, "download_extract")
    assert [d.detail for d in downloads] == [f"file={n}" for n in got] and all(d.outcome == "ok" for d in downloads)
    assert hq.get("/privacy/extracts").text.count(f'data-extract="{extract_id}"') == 1


@pytest.mark.parametrize(("form", "code", "message"), [
    ({**FORM, "purpose": " "}, "no_purpose", "利用目的を記入してください"),
    ({**FORM, "period_from": "2026-04-01", "period_to": "2026-03-31"}, "empty_period", "期間が空です"),
    ({**FORM, "period_to": ""}, "bad_date", "YYYY-MM-DD"),
    ({**FORM, "period_from": "2019-01-01"}, "period_too_long", "5年以内"),
])
def test_a_bad_request_from_the_page_is_refused_in_japanese_and_changes_nothing(
        env: Container, form: dict[str, str], code: str, message: str) -> None:
    populate(env, n=20)
    hq = client_for(env, "hq")
    response = post(hq, form)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "作成できませんでした" in response.text and message in response.text  # type: ignore[attr-defined]
    assert form["purpose"].strip() in response.text  # type: ignore[attr-defined]  # what was typed is kept
    assert registered(env) == 0 and not env.settings.extract_dir.exists()
    with env.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyKey)) == 0
    [refused] = audit(env, "masked_extract")
    assert refused.outcome == "denied" and refused.detail == code and refused.client != "cli"


@pytest.mark.parametrize("username", ["privacy", "higashi"])
def test_a_user_without_the_role_cannot_produce_nor_download(env: Container, username: str) -> None:
    populate(env, n=20)
    result = privacy_extract.produce(env, username="hq", purpose="効果検証", period_from="2025-04-01",
                                     period_to="2026-03-31", out=env.settings.extract_dir)
    client = client_for(env, username)
    refused = post(client, FORM)
    assert refused.status_code == 403 and "権限がありません" in refused.text  # type: ignore[attr-defined]
    download = client.get(f"/privacy/extracts/{result.extract_id}/files/children.csv")
    assert download.status_code == 403
    assert registered(env) == 1 and len(list(env.settings.extract_dir.iterdir())) == 1
    made, denied = audit(env, "masked_extract")
    assert (made.outcome, denied.outcome, denied.detail) == ("ok", "denied", "masked_extract")
    assert [a.outcome for a in audit(env, "download_extract")] == ["denied"]
    detail = client.get(f"/privacy/extracts/{result.extract_id}")
    if username == "privacy":  # the privacy officer sees the register and the k-report, not the data
        assert detail.status_code == 200 and "ダウンロードは本部管理者のみ" in detail.text
        assert "/files/children.csv" not in detail.text
    else:
        assert detail.status_code == 403


def test_downloads_stop_when_the_key_is_destroyed_and_a_command_extract_is_listed_but_not_served(
        env: Container, tmp_path: Path) -> None:
    populate(env, n=20)
    web = privacy_extract.produce(env, username="hq", purpose="効果検証", period_from="2025-04-01",
                                  period_to="2026-03-31", out=env.settings.extract_dir)
    by_command = privacy_extract.produce(env, username="hq", purpose="効果検証（CLI）", period_from="2025-04-01",
                                         period_to="2026-03-31", out=tmp_path / "elsewhere")
    hq = client_for(env, "hq")
    page = hq.get("/privacy/extracts").text
    assert f'data-extract="{web.extract_id}"' in page and f'data-extract="{by_command.extract_id}"' in page
    elsewhere = hq.get(f"/privacy/extracts/{by_command.extract_id}/files/children.csv")
    assert elsewhere.status_code == 404 and "このサーバーにありません" in elsewhere.text
    assert hq.get(f"/privacy/extracts/{web.extract_id}/files/../../etc/passwd").status_code == 404
    assert hq.get(f"/privacy/extracts/{web.extract_id}/files/secret.txt").status_code == 404

    (web.out_dir / "children.csv").write_text("tampered")
    changed = hq.get(f"/privacy/extracts/{web.extract_id}/files/children.csv")
    assert changed.status_code == 409 and "一致しません" in changed.text

    privacy_extract.destroy_key(env, username="privacy", extract_id=web.extract_id)
    gone = hq.get(f"/privacy/extracts/{web.extract_id}/files/items.csv")
    assert gone.status_code == 409 and "廃棄済み" in gone.text
    assert "鍵が廃棄されたため" in hq.get(f"/privacy/extracts/{web.extract_id}").text
    assert [a.detail for a in audit(env, "download_extract")] == ["file_not_here", "unknown_file", "file_changed",
                                                                   "key_already_destroyed"]


def test_the_json_twin_produces_through_the_same_use_case(env: Container) -> None:
    populate(env, n=30)
    hq = client_for(env, "hq")
    made = hq.post("/api/privacy/extracts", json=FORM)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["k_anonymity"]["k"] == 5 and body["row_counts"]["children"] == body["k_anonymity"]["subjects_released"]
    refused = hq.post("/api/privacy/extracts", json={**FORM, "purpose": ""})
    assert refused.status_code == 400 and "利用目的" in refused.json()["detail"]
    assert registered(env) == 1
    assert [a.outcome for a in audit(env, "masked_extract")] == ["ok", "denied"]


def test_the_page_produces_off_the_event_loop(env: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """An extract takes tens of seconds at city scale: the page must not hold the event loop (live inboxes)."""
    populate(env, n=10)
    seen: list[bool] = []
    real = privacy_extract.produce

    def spy(*args: object, **kwargs: object) -> privacy_extract.ExtractResult:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(privacy_extract, "produce", spy)
    assert post(client_for(env, "hq"), FORM).status_code == 303  # type: ignore[attr-defined]
    assert seen == [False]
