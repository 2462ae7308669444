"""Writing a masked extract: CSV (UTF-8 with BOM, formula-safe) and Parquet per table, the data dictionary,
the k-anonymity report and a manifest with each file's SHA-256."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from services.casework.service_layer.csv_safe import safe_row

# table → column → (type, description in Japanese, in English). Every released column is here; a test checks it.
DICTIONARY: dict[str, dict[str, tuple[str, str, str]]] = {
    "children": {
        "child_pseudonym": ("string", "児童の仮名ID（この抽出限りの鍵付きハッシュ）",
                            "Child pseudonym: HMAC-SHA256 under this extract's key; not linkable to other extracts"),
        "ward_code": ("string", "居住区コード（40131–40137、不明）", "Ward of residence (code)"),
        "age_band": ("string", "期間末日の年齢区分（k匿名化のため一般化されることがある）",
                     "Age band at the period's last day (generalised as k-anonymity requires)"),
        "sex": ("string", "性別（男・女・不明）", "Sex"),
        "household_type": ("string", "世帯類型（ひとり親（児童扶養手当）・その他・不明）",
                           "Household type (single parent receiving 児童扶養手当 / other / unknown)"),
        "tier": ("string", "抽出時点の階層（重点・予防・見守り、空欄=なし）", "Tier when extracted"),
        "current_items": ("string", "抽出時点の該当項目番号（;区切り）", "Items flagged when extracted (; separated)"),
    },
    "items": {
        "child_pseudonym": ("string", "児童の仮名ID", "Child pseudonym"),
        "item": ("int", "基本連携データ項目の番号（1–19）", "Linkage item number (1-19)"),
        "event": ("string", "current=抽出時点で該当 / listed=リスト掲載時 / gained=該当追加 / cleared=解消",
                  "current / listed (at an alert) / gained / cleared"),
        "month": ("string", "該当・変化の年月（YYYY-MM）", "Month of the event (YYYY-MM)"),
        "source_systems": ("string", "根拠の提供元システム（;区切り）", "Source systems of the evidence"),
    },
    "alerts": {
        "alert_pseudonym": ("string", "アラート（ケース）の仮名ID", "Alert (case) pseudonym"),
        "child_pseudonym": ("string", "児童の仮名ID", "Child pseudonym"),
        "ward_code": ("string", "アラートの区", "Ward the alert was raised for"),
        "tier": ("string", "階層", "Tier"),
        "items": ("string", "掲載時の該当項目（;区切り）", "Items at listing"),
        "reason": ("string", "掲載理由（entered_tier / high_weight_flag / moved_ward）", "Why listed"),
        "raised_month": ("string", "掲載年月", "Month raised"),
        "state": ("string", "抽出時点の状態", "State when extracted"),
        "lead_division": ("string", "主担当課", "Lead division"),
        "outcome": ("string", "終結時の結果", "Outcome at closing"),
    },
    "steps": {
        "alert_pseudonym": ("string", "アラート（ケース）の仮名ID", "Alert (case) pseudonym"),
        "step_no": ("int", "ケース内の順番", "Order within the case"),
        "action": ("string", "手順（二次スクリーニング等、システム記録を含む）", "Step (incl. system entries)"),
        "result": ("string", "結果", "Result"),
        "from_state": ("string", "前の状態", "State before"),
        "to_state": ("string", "後の状態", "State after"),
        "month": ("string", "記録年月", "Month recorded"),
        "actor_role": ("string", "記録者の役割（氏名・IDは含まない）", "Role of who recorded it (no user id)"),
        "approach_method": ("string", "アプローチ方法（関係三課協議）", "Approach method"),
        "lead_division": ("string", "主担当課（関係三課協議）", "Lead division"),
        "items_gained": ("string", "フラグ変化で追加された項目", "Items gained (system entry フラグ変化)"),
        "items_cleared": ("string", "フラグ変化で解消された項目", "Items cleared"),
    },
}
MANIFEST = "manifest.json"  # purpose, period, key id, counts, fields and every other file's SHA-256
EXCLUDED = ("氏名・かな・住所・生年月日・宛名番号・学籍番号・電話番号・世帯ID・児童ID・利用者ID、"
            "理由・聴取内容・支援内容等の自由記述、根拠の説明文は含まない")


def write(out_dir: Path, tables: dict[str, dict[str, list[Any]]], meta: dict[str, Any]) -> dict[str, str]:
    """Writes everything into ``out_dir`` (which must not exist yet); returns file name → SHA-256."""
    out_dir.mkdir(parents=True, exist_ok=False)
    for name, columns in tables.items():
        _parquet(out_dir / f"{name}.parquet", name, columns)
        _csv(out_dir / f"{name}.csv", columns)
    with (out_dir / "data_dictionary.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["table", "column", "type", "説明", "description"])
        for table, cols in DICTIONARY.items():
            for column, (kind, ja, en) in cols.items():
                writer.writerow(safe_row([table, column, kind, ja, en]))
        writer.writerow(["*", "*", "", EXCLUDED, "No direct identifiers and no free text are included"])
    (out_dir / "k_anonymity.json").write_text(json.dumps(meta["k_anonymity"], ensure_ascii=False, indent=2))
    files = {p.name: sha256(p) for p in sorted(out_dir.iterdir())}
    manifest = {**meta, "files": files}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return files


def _parquet(path: Path, table: str, columns: dict[str, list[Any]]) -> None:
    types = {"int": pa.int32(), "string": pa.string()}
    schema = pa.schema([(c, types[DICTIONARY[table][c][0]]) for c in columns])
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path, compression="zstd")


def _csv(path: Path, columns: dict[str, list[Any]]) -> None:
    names = list(columns)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows(safe_row(list(row)) for row in zip(*(columns[n] for n in names), strict=True))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
