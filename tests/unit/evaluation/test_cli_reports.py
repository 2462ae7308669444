"""The CLI end to end on a synthetic store: the committee report, weekly report, proposal and what-if."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.evaluation.entrypoints import cli

pytestmark = pytest.mark.unit


def test_reports_from_a_synthetic_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_EVALUATION_DATABASE_URL", f"sqlite:///{tmp_path}/ev.db")
    monkeypatch.setenv("TSUNAGU_EVALUATION_REPORTS_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("TSUNAGU_EVALUATION_METRICS_PORT", "0")
    assert cli.main(["seed-synthetic", "--children", "6000", "--seed", "2"]) == 0
    assert cli.main(["seed-synthetic", "--children", "10"]) == 2  # never into a store that holds listings
    assert cli.main(["report", "--period", "FY2026"]) == 0
    html = (tmp_path / "out" / "evaluation-FY2026.html").read_text(encoding="utf-8")
    for heading in ("評価・検証報告", "データ項目別", "階層別", "区別", "ロジスティック回帰", "公平性"):
        assert heading in html
    assert html.count("data:image/png;base64,") >= 5
    assert not re.search(r"syn-\d+-\d+", html)  # no child id, let alone a name, reaches a report
    assert cli.main(["propose-weights", "--period", "FY2026", "--out", str(tmp_path / "p.toml")]) == 0
    assert cli.main(["what-if", "--proposed", str(tmp_path / "p.toml")]) == 0
    what_if = next((tmp_path / "out").glob("what-if-*.html")).read_text(encoding="utf-8")
    assert "全市" in what_if and "規則は変更されません" in what_if
    assert cli.main(["weekly", "--week", "2026-11-04"]) == 0
    assert "週次報告書" in (tmp_path / "out" / "weekly-2026-11-02.html").read_text(encoding="utf-8")
    assert cli.main(["report", "--period", "next year"]) == 2
