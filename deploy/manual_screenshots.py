"""Screenshots for the staff manual (docs/manual/img/*.png), taken from the running ward UI on synthetic data.

    make training                                   # once: the training city (deploy/training.sh) fills its database
    .venv/bin/python deploy/manual_screenshots.py   # or: make manual-screenshots

The script copies the training deployment's case database (SQLite, synthetic data only) into a temporary directory,
starts the casework web on it (a free port, training mode: the 研修用・架空データ banner shows on every screenshot),
logs in with the training accounts in headless Chromium (Debian's /usr/bin/chromium) and walks through the pages
the manual describes, recording one screening and one 関係三課協議 on the copy. The training database itself is
never written. Any request to a host other than the web's own address fails the run.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
TRAINING_DB = ROOT / "var" / "training" / "casework-training.db"
PASSWORD = "tsunagu-kensyu-2026"  # noqa: S105 - the training accounts' password (entrypoints/cli.py)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
CHILD = "小林 大和"  # a smoke family in every ward (items 15, 16, 17, 19: several signals at once)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def casework_web(database: Path, workdir: Path) -> Iterator[str]:
    """The casework web on a copy of ``database`` in training mode; yields its base URL."""
    copy = workdir / "training" / "casework-training.db"
    copy.parent.mkdir(parents=True)
    # SQLite's backup, not a file copy: the running training city writes in WAL mode, and a copy of the main file
    # alone misses what the -wal file still holds (the screenshots showed minutes-old data).
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGU_CASEWORK_", "TSUNAGU_ENVIRONMENT"))}
    env.update({"TSUNAGU_CASEWORK_TRAINING": "true", "TSUNAGU_CASEWORK_ENVIRONMENT": "development",
                "TSUNAGU_CASEWORK_DATABASE_URL": f"sqlite:///{copy}", "TSUNAGU_CASEWORK_WEB_PORT": str(port),
                "TSUNAGU_CASEWORK_APP_ID": "tsunagu-training-screenshots",
                "TSUNAGU_CASEWORK_DATA_DIR": str(workdir / "casework"), "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    log = (workdir / "web.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.casework.entrypoints.web"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - our own local web
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"casework web did not start; see {workdir / 'web.log'}") from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state("networkidle")


def logout(page: Page) -> None:
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_load_state("networkidle")


def record(page: Page, action: str, result: str, reason: str, **fields: str) -> None:
    form = page.locator("form.step-form", has=page.locator(f"input[name=action][value='{action}']"))
    form.get_by_label(result, exact=True).check()
    for label, value in fields.items():
        control = form.get_by_label(label)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_label("理由・判断の根拠").fill(reason)
    return None


def submit(page: Page, action: str) -> None:
    form = page.locator("form.step-form", has=page.locator(f"input[name=action][value='{action}']"))
    form.get_by_role("button", name=f"{action}を記録").click()
    page.wait_for_load_state("networkidle")


def shoot(page: Page, base: str, out: Path) -> list[str]:
    taken: list[str] = []

    def save(name: str, *, full: bool = True, element: str | None = None) -> None:
        path = out / f"{name}.png"
        if element:
            # A full-page capture clipped to the element: the sticky training banner stays at the page's top
            # instead of covering the element's heading, as it would in an element screenshot.
            page.evaluate("window.scrollTo(0, 0)")
            box = page.locator(element).first.bounding_box()
            assert box is not None, element
            pad = 8
            page.screenshot(path=str(path), full_page=True, clip={
                "x": max(box["x"] - pad, 0), "y": max(box["y"] - pad, 0),
                "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad})
        else:
            page.screenshot(path=str(path), full_page=full)
        taken.append(path.name)

    def fold_freshness() -> None:
        """データの鮮度 opens by itself while a system is silent (in the training city, those it has no records
        of): folded, as a user does, so the inbox screenshots show the list; it has a screenshot of its own."""
        page.evaluate("document.querySelectorAll('#freshness details').forEach(d => d.open = false)")

    # ward staff: login, inbox, filters, a child page, the screening form, the timeline after two steps
    page.goto(f"{base}/login")
    save("login", full=False)
    login(page, base, "kensyu01")
    expect(page.get_by_role("heading", name="対象者一覧（東区）")).to_be_visible()
    save("freshness", element="#freshness")
    fold_freshness()
    save("inbox", full=False)
    page.goto(f"{base}/?tier=重点")
    fold_freshness()
    save("inbox-filter", full=False)
    # 行政とのつながり: the inbox filtered by a signal, and a child's panel (the first 未就園 child of the ward)
    page.goto(f"{base}/?signal=unenrolled")
    first = page.locator("#alert-rows a").first
    expect(first).to_be_visible()  # the smoke families' 4-year-olds attend no nursery: 未就園
    fold_freshness()
    save("inbox-signal", full=False)
    first.click()
    expect(page.locator("#connection details.flag--signal").first).to_be_visible()
    save("child-connection", element="section[aria-labelledby=h-connection]")
    page.goto(f"{base}/")
    page.locator("#alert-rows a", has_text=CHILD).first.click()
    expect(page.get_by_role("heading", name=CHILD)).to_be_visible()
    save("child", full=False)
    save("child-flags", element="section[aria-labelledby=h-flags]")
    record(page, "二次スクリーニング", "要アプローチ",
           "支援歴なし（子育て支援課・健康課の記録を確認）。妊婦健診未受診とEPDS高値が重なる")
    save("step-screening", element="form.step-form")
    submit(page, "二次スクリーニング")
    record(page, "関係三課協議", "決定", "保健師による訪問が適切（関係三課協議 11/28）", アプローチ方法="訪問",
           主担当課="健康課")
    submit(page, "関係三課協議")
    expect(page.get_by_text("現在の段階：")).to_contain_text("個別アプローチ")
    save("case-approach", element="#case")
    save("timeline", element="section[aria-labelledby=h-timeline]")
    logout(page)
    # HQ: users, clerical review
    login(page, base, "kensyu-hq")
    page.goto(f"{base}/admin/users")
    save("hq-users", full=False)
    page.goto(f"{base}/reviews")
    save("hq-reviews", full=False)
    logout(page)
    # privacy officer: the audit trail, the extract register
    login(page, base, "kensyu-privacy")
    page.goto(f"{base}/audit")
    save("privacy-audit", full=False)
    page.goto(f"{base}/privacy/extracts")
    save("privacy-extracts", full=False)
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, default=TRAINING_DB,
                        help="SQLite case database of the training city (default: var/training/…)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "manual" / "img")
    args = parser.parse_args()
    if not args.database.exists():
        print(f"error: {args.database} does not exist: start the training city first (make training)",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tsunagu-manual-") as tmp, casework_web(args.database, Path(tmp)) as base:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="ja-JP")
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
            taken = shoot(page, base, args.out)
            browser.close()
    print(f"{len(taken)} screenshots in {args.out}: {', '.join(taken)}")
    if outside:
        print("error: requests outside the machine's web:", *outside, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
