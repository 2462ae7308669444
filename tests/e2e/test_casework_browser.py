"""A ward worker in headless Chromium: logs in, watches an alert arrive live, screens it, walks it to 終結.

The worker and the web app run as processes over a real broker and PostgreSQL. Screenshots are kept in
test-artifacts/casework/ for a person to look at.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.casework.processes import ROOT, casework_env, free_port, running, start_group_at_end
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.e2e
ARTIFACTS = ROOT / "test-artifacts" / "casework"
PASSWORD = "e2e-password-2026"
CHROMIUM = "/usr/bin/chromium"


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "services.casework.entrypoints.cli", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def test_ward_worker_screens_a_live_alert_to_closure(kafka_bootstrap: str, pg_schema_url: str,
                                                     tmp_path: Path) -> None:
    from kafka import KafkaProducer
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = casework_env(kafka_bootstrap, pg_schema_url, tmp_path, TSUNAGU_CASEWORK_WEB_PORT=str(port))
    # the shared test topics hold other tests' history: this worker's group starts after it
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"])
    cli(env, "migrate")
    cli(env, "create-user", "--username", "higashi-e2e", "--password", PASSWORD, "--role", "ward_staff",
        "--ward", "40131", "--division", "子育て支援課")
    cli(env, "create-user", "--username", "privacy-e2e", "--password", PASSWORD, "--role", "privacy_officer")
    run = uuid.uuid4().hex[:6]
    child, other = f"e2e-{run}", f"e2e-{run}-hakata"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)

    with running("services.casework.entrypoints.worker", env, tmp_path / "worker.log", "Worker ready"), \
            running("services.casework.entrypoints.web", env, tmp_path / "web.log", "Uvicorn running"), \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="ja-JP")
        base = f"http://127.0.0.1:{port}"

        # 1. log in
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login")
        page.get_by_label("ユーザー名").fill("higashi-e2e")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.screenshot(path=str(ARTIFACTS / "01-login.png"))
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name="対象者一覧（東区）")).to_be_visible()
        expect(page.locator("#live-status")).to_have_attribute("data-connected", "yes", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "02-inbox-empty.png"))

        # 2. an alert arrives live (and another ward's alert does not)
        producer.send("linkage.children.v1", key=child.encode(),
                      value=raw(profile_event(child, "40131", name="箱崎 さくら", birth_date="2025-02-10")))
        producer.send("linkage.children.v1", key=other.encode(), value=raw(profile_event(other, "40132",
                                                                                            name="博多 はると")))
        producer.flush()
        time.sleep(1.0)
        sent = time.monotonic()
        producer.send("scoring.flags.v1", key=other.encode(),
                      value=raw(flags_event(other, "40132", [], [17], tier_after="予防")))
        producer.send("scoring.flags.v1", key=child.encode(),
                      value=raw(flags_event(child, "40131", [], [3, 17], tier_after="予防")))
        producer.flush()
        row = page.locator(f"#alert-rows tr:has(a[href='/children/{child}'])")
        expect(row).to_be_visible(timeout=10_000)
        arrival_s = time.monotonic() - sent
        page.screenshot(path=str(ARTIFACTS / "03-inbox-live-alert.png"))
        assert page.locator(f"#alert-rows a[href='/children/{other}']").count() == 0
        print(f"alert reached the open inbox {arrival_s:.2f} s after the flag event was sent")

        # 3. open the child and screen
        row.get_by_role("link", name="箱崎 さくら").click()
        expect(page.get_by_role("heading", name="箱崎 さくら")).to_be_visible()
        expect(page.get_by_text("乳幼児健診未受診").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "04-child.png"), full_page=True)

        def record(action: str, result: str, reason: str, **fields: str) -> None:
            form = page.locator("form.step-form", has=page.locator(f"input[name=action][value='{action}']"))
            form.get_by_label(result, exact=True).check()
            for label, value in fields.items():
                control = form.get_by_label(label)
                if control.evaluate("e => e.tagName") == "SELECT":
                    control.select_option(value)
                else:
                    control.fill(value)
            form.get_by_label("理由・判断の根拠").fill(reason)
            form.get_by_role("button", name=f"{action}を記録").click()

        record("二次スクリーニング", "要アプローチ", "支援歴なし。健診未受診と EPDS 高値が重なる")
        expect(page.get_by_text("現在の段階：")).to_contain_text("関係三課協議")
        page.screenshot(path=str(ARTIFACTS / "05-screened.png"), full_page=True)
        record("関係三課協議", "決定", "保健師の訪問が適切", アプローチ方法="訪問", 主担当課="健康課")
        record("個別アプローチ", "面会できた", "母子ともに在宅",
               **{"聞き取り内容（生活状況・困りごと）": "夜間の授乳で睡眠不足。実家は遠方"})
        record("アセスメント", "支援が必要", "育児負担が大きい")
        record("プランニング", "計画決定", "産後ケア事業を案内", 支援内容="産後ケア（訪問型）週1回")
        record("支援", "実施", "初回訪問を実施", 実施内容="産後ケア初回")
        page.screenshot(path=str(ARTIFACTS / "06-support.png"), full_page=True)
        record("終結", "支援につながった", "産後ケアの継続利用が決まった")
        expect(page.get_by_text("進行中のケースはありません")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "07-closed-timeline.png"), full_page=True)

        # 4. the inbox shows the case closed; another ward's child is refused
        page.get_by_role("link", name="対象者一覧").first.click()
        expect(page.locator(f"#alert-rows tr:has(a[href='/children/{child}'])")).to_contain_text("終結")
        page.screenshot(path=str(ARTIFACTS / "08-inbox-closed.png"))
        denied = page.goto(f"{base}/children/{other}")
        assert denied is not None and denied.status == 403
        expect(page.get_by_role("heading", name="権限がありません")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "09-other-ward-denied.png"))

        # 5. the privacy officer finds the refused attempt in the audit trail, chain intact
        page.goto(f"{base}/")
        page.get_by_role("button", name="ログアウト").click()
        page.get_by_label("ユーザー名").fill("privacy-e2e")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        expect(page.get_by_role("heading", name="操作記録（監査ログ）")).to_be_visible()
        expect(page.get_by_text("改ざんは検出されませんでした")).to_be_visible()
        denied_row = page.locator("tr.denied", has_text=other)
        expect(denied_row).to_contain_text("児童情報の閲覧")
        expect(denied_row).to_contain_text("拒否")
        page.screenshot(path=str(ARTIFACTS / "10-audit-denied-logged.png"), full_page=True)
        browser.close()
    assert arrival_s < 5.0
