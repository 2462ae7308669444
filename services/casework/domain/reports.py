"""報告書: what HQ sees of evaluation's reports (issue 16) — labels, file names, content types. Pure rules.

Who may download: HQ (総括管理, Permission.DOWNLOAD_REPORTS) only. The reports are HQ's documents for the committee
(検討会) and the wards' weekly review; they aggregate and carry no personal data. The privacy officer checks the
downloads in 操作記録 (every one is audited) and does not need the documents themselves; ward staff get them from
HQ as the city decides (docs/casework.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

KIND_LABELS = {"weekly": "週次報告書", "period": "評価・検証報告"}
FORMAT_LABELS = {"html": "HTML", "pdf": "PDF"}
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True)
class ReportInfo:
    """A stored report without its document (the list)."""

    report_id: str
    kind: str
    period_label: str
    scope: str
    generated_at: datetime
    format: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ReportDocument:
    info: ReportInfo
    content: bytes


def period_text(info: ReportInfo) -> str:
    return f"{info.period_label} の週" if info.kind == "weekly" else info.period_label


def scope_text(scope: str, wards: dict[str, str]) -> str:
    return "全市" if scope == "city" else wards.get(scope, scope)


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def download_filename(info: ReportInfo) -> str:
    """ASCII only, safe in a Content-Disposition header: weekly-2026-11-02-city.pdf, evaluation-FY2026-city.html."""
    stem = "weekly" if info.kind == "weekly" else "evaluation"
    label = re.sub(r"[^0-9A-Za-z.-]", "_", info.period_label).strip(".") or "report"
    scope = re.sub(r"[^0-9a-z]", "_", info.scope)
    return f"{stem}-{label}-{scope}.{info.format if info.format in CONTENT_TYPES else 'bin'}"


def content_type(fmt: str) -> str:
    return CONTENT_TYPES.get(fmt, "application/octet-stream")
