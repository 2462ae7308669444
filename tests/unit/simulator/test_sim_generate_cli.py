"""``python -m simulator generate`` writes the events, the school media and the truth, and prints no names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.sinks.jsonl import read_jsonl

pytestmark = pytest.mark.unit


def test_generate_writes_events_media_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "--scale", "0.0005", "--days", "60", "--out", str(tmp_path / "events.jsonl"),
                 "--school-csv", str(tmp_path / "school"), "--truth", str(tmp_path / "truth"), "--no-progress"])
    assert code == 0
    events = read_jsonl(tmp_path / "events.jsonl")
    records = read_jsonl(tmp_path / "truth" / "records.jsonl")
    school_rows = sum(len(p.read_text(encoding="cp932").splitlines()) - 1 for p in (tmp_path / "school").iterdir())
    assert len(records) == len(events) + school_rows  # every event, whichever sink took it, has its truth
    assert {r["id"] for r in records} >= {e["value"]["id"] for e in events}
    persons = {p["person"]: p for p in read_jsonl(tmp_path / "truth" / "persons.jsonl")}
    registry = [e["value"]["data"] for e in events if e["topic"] == "source.resident-registry.v1"
                and e["value"]["type"] == "resident_registry.person.registered"]
    by_atena = {p["atena_no"]: p for p in persons.values()}
    assert all(by_atena[d["atena_no"]]["birth_date"] == d["birth_date"] for d in registry)
    for flag in read_jsonl(tmp_path / "truth" / "flags.jsonl"):
        assert flag["person"] in persons and 1 <= flag["item"] <= 19
        assert flag["to"] is None or flag["to"] > flag["from"]
    config = json.loads((tmp_path / "truth" / "config.json").read_text())
    assert config["scale"] == 0.0005 and config["run_id"].startswith("sim")
    printed = capsys.readouterr().out
    assert "total" in printed
    assert not any(p["name_kanji"].split()[0] in printed for p in list(persons.values())[:50])
