"""利用者アンケート in the evaluation report: casework's survey-export file → tallies, chart and section."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.evaluation.adapters.survey_file import SurveyFileError, load_survey
from services.evaluation.entrypoints import cli

pytestmark = pytest.mark.unit

HEADER = "section,ward_code,question,answer,count,text\n"


def _file(tmp_path: Path, comments: bool = False) -> Path:
    rows = ["round,,title,,,第1回 利用者アンケート", "round,,opens_on,,,2026-10-01", "round,,closes_on,,,2026-10-31",
            "round,,round_id,,,r-1", "question,,list,,,対象者リストは役立ちましたか",
            "question,,evidence,,,根拠の表示は役立ちましたか"]
    rows += [f"scale,,,{v},,{label}" for v, label in
             [(5, "とても役に立った"), (4, "やや役に立った"), (3, "どちらともいえない"), (2, "あまり役に立たなかった"),
              (1, "まったく役に立たなかった")]]
    # city: list 5×2, 4×1, 2×1 → mean 4.0; evidence 3×4 → 3.0. 東区 has three respondents, 西区 one.
    counts = {"": {"list": {5: 2, 4: 1, 2: 1}, "evidence": {3: 4}},
              "40131": {"list": {5: 2, 4: 1}, "evidence": {3: 3}}, "40135": {"list": {2: 1}, "evidence": {3: 1}}}
    for ward, questions in counts.items():
        rows.append(f"respondents,{ward},,,{4 if ward == '' else 3 if ward == '40131' else 1},")
        for key, by_answer in questions.items():
            rows += [f"count,{ward},{key},{v},{by_answer.get(v, 0)}," for v in range(1, 6)]
    if comments:
        rows.append("comment,40135,,,,'=訪問前の確認に使える")
    path = tmp_path / "survey.csv"
    path.write_text("\ufeff" + HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_file_becomes_tallies_with_means_by_hand(tmp_path: Path) -> None:
    s = load_survey(_file(tmp_path, comments=True))
    assert (s.title, s.opens_on, s.closes_on) == ("第1回 利用者アンケート", "2026-10-01", "2026-10-31")
    assert s.total.respondents == 4
    assert s.total.questions["list"].mean == pytest.approx(4.0)
    assert s.total.questions["evidence"].mean == pytest.approx(3.0)
    assert s.total.questions["list"].share(5) == pytest.approx(0.5)
    assert list(s.wards) == ["40131", "40135"]
    assert s.wards["40131"].questions["list"].mean == pytest.approx(14 / 3)
    assert s.comments == [("40135", "=訪問前の確認に使える")]  # the spreadsheet guard is undone for the report


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SurveyFileError):
        load_survey(bad)
    with pytest.raises(SurveyFileError):
        load_survey(tmp_path / "missing.csv")


def test_report_gains_a_survey_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_EVALUATION_DATABASE_URL", f"sqlite:///{tmp_path}/ev.db")
    monkeypatch.setenv("TSUNAGU_EVALUATION_REPORTS_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("TSUNAGU_EVALUATION_METRICS_PORT", "0")
    assert cli.main(["seed-synthetic", "--children", "3000", "--seed", "3"]) == 0
    assert cli.main(["report", "--period", "FY2026", "--survey", str(_file(tmp_path))]) == 0
    html = (tmp_path / "out" / "evaluation-FY2026.html").read_text(encoding="utf-8")
    assert "7. 利用者アンケート" in html and "第1回 利用者アンケート" in html and "回答者 4 人" in html
    assert "4.00" in html and "4.67" in html and "東区（40131）" in html
    assert 'alt="利用者アンケートの回答の割合' in html
    assert "自由記述（こども家庭課用）" not in html  # the aggregates file carries no comments
    assert cli.main(["report", "--period", "FY2026", "--survey", str(tmp_path / "none.csv")]) == 2
    assert cli.main(["report", "--period", "FY2026"]) == 0
    assert "利用者アンケート" not in (tmp_path / "out" / "evaluation-FY2026.html").read_text(encoding="utf-8")
