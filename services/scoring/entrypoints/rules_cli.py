"""Scoring's judgement of a rule file, for HQ's adoption act (casework runs it: docs/scoring.md "Adopting a rule
file"). The only loader of rule files is scoring's; this command is how another process asks it, without
importing it.

    python -m services.scoring.entrypoints.rules_cli describe FILE

Prints one JSON object: ``{"ok": true, "sha256": …, "summary": {…}}`` (exit 0) or ``{"ok": false, "error": …}``
(exit 1) with the loader's reason (``items.12.params: threshold: …``). Nothing is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from services.scoring.adapters.rulebook import RulebookError, parse_rulebook
from services.scoring.domain.rule_summary import summarise


def describe(path: Path) -> tuple[int, dict[str, object]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return 1, {"ok": False, "error": f"{path}: cannot read the rule file ({exc.strerror})"}
    try:
        book = parse_rulebook(data.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        return 1, {"ok": False, "error": f"{path}: not UTF-8 text"}
    except RulebookError as exc:
        return 1, {"ok": False, "error": str(exc)}
    # the digest of the very bytes judged, not of a second read
    return 0, {"ok": True, "sha256": hashlib.sha256(data).hexdigest(), "summary": summarise(book)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsunagu-scoring-rules", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("describe", help="load a rule file as scoring does; print its summary and SHA-256 as JSON")
    p.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    code, out = describe(args.file)
    print(json.dumps(out, ensure_ascii=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
