"""Splink 5 (DuckDB) on the same normalised records: train, predict, cluster one-to-one, and a threshold sweep."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchmarks.linkage_synth import Population


@dataclass
class SplinkRun:
    predicted: dict[str, str | None]  # at Splink's usual 0.9 threshold, one-to-one clustering
    pairs: pd.DataFrame  # record id, atena, match_probability (best candidate per record)
    seconds: float  # Splink's own work: settings, training, prediction, clustering (wall)
    frames_seconds: float = 0.0  # the records as pandas frames, registered with DuckDB (wall)
    results_seconds: float = 0.0  # clusters and pairs read back into Python (wall)


def _frames(pop: Population) -> tuple[pd.DataFrame, pd.DataFrame]:
    registry = pd.DataFrame([{
        "unique_id": p.atena, "kana_key": k.kana_key, "surname_kana": k.surname_kana_key,
        "given_kana": k.given_kana_key, "kanji_key": k.kanji_key, "birth_date": p.birth.isoformat(),
        "sex": p.sex, "address_key": p.address,
    } for p in pop.persons for k in (p.keys(),)])  # the registry's keys as ingest folds them, like the students
    students = pd.DataFrame([{
        "unique_id": rec.record_id, "kana_key": k.kana_key, "surname_kana": k.surname_kana_key,
        "given_kana": k.given_kana_key, "kanji_key": k.kanji_key, "birth_date": k.birth_date, "sex": k.sex,
        "address_key": k.address_key,
    } for rec, _ in pop.students for k in rec.persons[:1]])
    return registry, students


def settings() -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.ForenameSurnameComparison("given_kana", "surname_kana").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("kanji_key", [0.9]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("address_key", [3]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("kana_key", "substr(birth_date, 1, 4)"), block_on("kana_key", "substr(birth_date, 6, 5)"),
            block_on("birth_date", "surname_kana"), block_on("birth_date", "given_kana"),
            block_on("kanji_key", "substr(birth_date, 1, 4)"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run(pop: Population, threads: int = 1) -> SplinkRun:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    framed = time.perf_counter()
    registry, students = _frames(pop)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    db = DuckDBAPI(connection=con)
    tables = [db.register(registry, dataset_display_name="registry"),
              db.register(students, dataset_display_name="school")]
    started = time.perf_counter()
    frames_seconds = started - framed
    linker = Linker(tables, settings(), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("kana_key", "birth_date")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("kana_key"))
    predictions = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
    clusters = linker.clustering.cluster_using_single_best_links(
        predictions, duplicate_free_datasets=["registry", "school"], threshold_match_probability=0.9)
    seconds = time.perf_counter() - started
    cdf = clusters.as_pandas_dataframe()
    predicted: dict[str, str | None] = {rid: None for rid in students["unique_id"]}
    # each school record's cluster's first registry member (a loop over the groups took ~50 s at 100 k persons)
    reg = cdf.loc[cdf["source_dataset"] == "registry", ["cluster_id", "unique_id"]].drop_duplicates("cluster_id")
    school = cdf.loc[cdf["source_dataset"] == "school", ["cluster_id", "unique_id"]]
    joined = school.merge(reg, on="cluster_id", how="left", suffixes=("", "_registry"))
    predicted.update((rid, atena if isinstance(atena, str) else None)
                     for rid, atena in zip(joined["unique_id"], joined["unique_id_registry"], strict=True))
    pdf = predictions.as_pandas_dataframe()
    left_is_registry = pdf["source_dataset_l"] == "registry"
    pairs = pd.DataFrame({
        "record_id": pdf["unique_id_r"].where(left_is_registry, pdf["unique_id_l"]),
        "atena": pdf["unique_id_l"].where(left_is_registry, pdf["unique_id_r"]),
        "p": pdf["match_probability"],
    }).sort_values("p", ascending=False).drop_duplicates("record_id")
    return SplinkRun(predicted, pairs, seconds, frames_seconds, time.perf_counter() - started - seconds)


def at_threshold(run_: SplinkRun, records: list[str], threshold: float) -> dict[str, str | None]:
    """Best candidate per record above a threshold (no one-to-one constraint), for the precision sweep."""
    chosen = run_.pairs[run_.pairs["p"] >= threshold]
    predicted: dict[str, str | None] = dict.fromkeys(records)
    predicted.update(dict(zip(chosen["record_id"], chosen["atena"], strict=True)))
    return predicted
