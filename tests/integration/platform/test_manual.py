"""The staff manual (docs/manual, mkdocs.yml) builds with ``mkdocs build --strict``; every internal link, anchor
and image in the built site resolves; nothing refers to a host outside the machine; every screenshot is used."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
MANUAL = ROOT / "docs" / "manual"
PAGES = ("index", "ward-staff", "hq", "privacy-officer", "vendors", "operators", "trainer", "revision")


def offline_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("manual_offline_hook", MANUAL / "_hooks" / "offline.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in {"href", "src"} and value:
                self.links.append(value)


def parse(path: Path) -> Refs:
    refs = Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("manual") / "site"
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-f",
                            str(ROOT / "mkdocs.yml"), "-d", str(out)], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return out


def test_every_role_has_a_page_in_japanese(site: Path) -> None:
    for page in PAGES:
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]{20,}", html), f"{page}.html has no Japanese text"
    assert "研修用・架空データ" in (site / "trainer.html").read_text(encoding="utf-8")


def test_internal_links_anchors_and_images_resolve(site: Path) -> None:
    broken = []
    pages = sorted(site.rglob("*.html"))
    ids = {page: parse(page).ids for page in pages}
    for page in pages:
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue  # external: the next test refuses them
            path = unquote(parts.path)
            # 404.html is served for any path, so its links are absolute from the site's root
            target = (site / path.lstrip("/") if path.startswith("/") else page.parent / path) if path else page
            target = target.resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link} (no file)")
            elif parts.fragment and target.suffix == ".html":
                if parts.fragment not in ids.get(target, parse(target).ids):
                    broken.append(f"{page.relative_to(site)}: {link} (no anchor)")
    assert not broken, "broken links in the manual:\n" + "\n".join(broken)


def test_nothing_refers_outside_the_machine(site: Path) -> None:
    refs = offline_hook().external_references(site)
    assert refs == [], refs
    for page in site.rglob("*.html"):
        for link in parse(page).links:
            host = urlsplit(link).hostname
            assert host in (None, "127.0.0.1", "localhost"), f"{page.name}: {link}"


def test_the_offline_check_catches_a_cdn(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<link rel="stylesheet" href="https://cdn.example.org/x.css">'
                                     '<script src="//fonts.googleapis.com/y.js"></script>'
                                     '<a href="http://127.0.0.1:8000/">local</a>', encoding="utf-8")
    (tmp_path / "b.css").write_text("@import 'https://fonts.example.com/f.css'; a{background:url(img/x.png)}",
                                    encoding="utf-8")
    found = sorted(url for _, url in offline_hook().external_references(tmp_path))
    assert found == ["//fonts.googleapis.com/y.js", "https://cdn.example.org/x.css",
                     "https://fonts.example.com/f.css"]


def test_every_screenshot_is_a_png_the_manual_shows(site: Path) -> None:
    shots = sorted(p.name for p in (MANUAL / "img").glob("*.png"))
    assert len(shots) >= 10
    for shot in shots:
        assert (MANUAL / "img" / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    used = {Path(link).name for page in site.rglob("*.html") for link in parse(page).links if "img/" in link}
    assert set(shots) <= used, f"screenshots no page shows: {set(shots) - used}"
