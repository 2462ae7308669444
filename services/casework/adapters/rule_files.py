"""The rule file's two neighbours for HQ's adoption act (service_layer/rule_adoption.py).

``ScoringRuleCheck`` asks scoring's own loader about a file by running ``python -m
services.scoring.entrypoints.rules_cli describe FILE`` — a command, not an import: services share no code, and
a second loader in casework could accept a file scoring refuses. ``AdoptionRecordFile`` reads and writes the
adoption record beside the rule file (``fukuoka.toml`` → ``fukuoka.adopted.json``), which scoring compares at
start (services/scoring/adapters/adoption.py; the name rule is written down in docs/scoring.md, not imported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.casework.service_layer.ports import RuleFileInvalid

SCORING_CHECK = (sys.executable, "-m", "services.scoring.entrypoints.rules_cli", "describe")
ADOPTED_SUFFIX = ".adopted.json"


@dataclass(frozen=True)
class Described:
    sha256: str
    summary: dict[str, Any]


class ScoringRuleCheck:
    def __init__(self, command: tuple[str, ...] = SCORING_CHECK, timeout_s: float = 120.0) -> None:
        self.command = command
        self.timeout_s = timeout_s

    def describe(self, path: Path) -> Described:
        try:
            done = subprocess.run([*self.command, str(path)], capture_output=True, text=True,
                                  timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuleFileInvalid(f"scoring's rule check did not run ({type(exc).__name__})") from None
        try:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise RuleFileInvalid(f"scoring's rule check gave no answer (exit {done.returncode}): "
                                  f"{done.stderr.strip()[-300:]}") from None
        if done.returncode != 0 or not answer.get("ok"):
            raise RuleFileInvalid(str(answer.get("error", f"exit {done.returncode}")))
        return Described(str(answer["sha256"]), dict(answer["summary"]))


def adoption_record_path(rule_file: Path) -> Path:
    return rule_file.with_name(rule_file.stem + ADOPTED_SUFFIX)


class AdoptionRecordFile:
    def read(self, rule_file: Path) -> dict[str, Any] | None:
        """None before the first adoption; ValueError when the file is not an adoption record."""
        try:
            text = adoption_record_path(rule_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ValueError(f"unreadable: {exc.strerror}") from None
        record = json.loads(text)
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            raise ValueError("not an adoption record")
        return record

    def write(self, rule_file: Path, record: dict[str, Any]) -> None:
        """Atomically: scoring starting at the same moment reads the old record or the new one, never half."""
        target = adoption_record_path(rule_file)
        fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False, indent=2, sort_keys=True)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
