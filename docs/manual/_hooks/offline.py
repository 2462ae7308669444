"""MkDocs hook: the built manual must load nothing from outside the machine (Tsunagu runs on a closed network).

After the build, every HTML and CSS file in the site is searched for references a browser would fetch — ``src``,
``href`` of ``<link>``, ``@import`` and ``url()`` in CSS, and font or script hosts — that point to another host
(http:, https: or protocol-relative ``//``). Any such reference fails the build with the file and the URL. Links
the reader may click (``<a href>``) to another host are also refused: the manual names addresses as text instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

LOCAL_HOSTS = ("127.0.0.1", "localhost")
HTML_REF = re.compile(r"""(?:src|href|srcset|action|data|poster)\s*=\s*["']\s*((?:https?:)?//[^"'\s>]+)""", re.I)
CSS_REF = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"')\s]+)""", re.I)


def external_references(site_dir: Path) -> list[tuple[str, str]]:
    """(file, url) for every reference in the site's HTML, CSS and JS to a host other than this machine."""
    found = []
    for path in sorted(site_dir.rglob("*")):
        if path.suffix not in {".html", ".css", ".js"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        pattern = CSS_REF if path.suffix == ".css" else HTML_REF
        for url in pattern.findall(text):
            host = re.sub(r"^(?:https?:)?//", "", url).split("/")[0].split(":")[0]
            if host not in LOCAL_HOSTS:
                found.append((str(path.relative_to(site_dir)), url))
        if path.suffix == ".js":
            for url in re.findall(r"""["'`]((?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^"'`\s]*)""", text, re.I):
                found.append((str(path.relative_to(site_dir)), url))
    return found


def on_post_build(config: Any, **_: Any) -> None:
    refs = external_references(Path(config["site_dir"]))
    if refs:
        listed = "\n".join(f"  {file}: {url}" for file, url in refs[:20])
        raise PluginError(f"the manual refers to {len(refs)} resource(s) outside the machine:\n{listed}")
