"""Logs in to the ward UI in headless Chromium (Debian's) and saves screenshots of the inbox and a child page.

    .venv/bin/python deploy/screenshot.py --user higashi --password tsunagu-demo-2026 --out var/screens
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="higashi")
    parser.add_argument("--password", default="tsunagu-demo-2026")
    parser.add_argument("--out", type=Path, default=Path("var/screens"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(args.base) else None)
        page.goto(f"{args.base}/login")
        page.screenshot(path=str(args.out / "login.png"), full_page=True)
        page.fill("#username", args.user)
        page.fill("#password", args.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(args.out / "inbox.png"), full_page=True)
        links = page.locator("a[href^='/children/']")
        if links.count():
            links.first.click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(args.out / "child.png"), full_page=True)
        browser.close()
    print(f"screenshots in {args.out}; requests outside {args.base}: {len(outside)}")
    for url in outside:
        print("  outside:", url)


if __name__ == "__main__":
    main()
