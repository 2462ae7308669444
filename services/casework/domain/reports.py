"""報告書: what HQ and the wards see of evaluation's reports (issue 16) — who may read which, labels, file names,
content types. Pure rules.

Who may download: HQ (総括管理, Permission.DOWNLOAD_REPORTS) every report; ward staff
(Permission.DOWNLOAD_WARD_REPORTS) only the documents whose scope is their own ward — the per-ward 週次報告書, which
hold that ward's figures alone. The city-wide weekly report and the evaluation reports (period, 中間報告, 最終報告)
compare the wards and are HQ's documents for the committee (検討会). They aggregate and carry no personal data. The
privacy officer checks the downloads in 操作記録 (every one is audited) and does not need the documents themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from services.casework.domain.access import Permission, Principal

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


# evaluation publishes the interim and final reports as kind "period" with the label "interim-…" / "final-…"
MILESTONE_LABELS = {"interim": "中間報告", "final": "最終報告"}


def may_list(principal: Principal) -> bool:
    return principal.can(Permission.DOWNLOAD_REPORTS) or principal.can(Permission.DOWNLOAD_WARD_REPORTS)


def may_read(principal: Principal, info: ReportInfo) -> bool:
    """HQ: every report. Ward staff: a document scoped to their own ward, nothing city-wide, no other ward's."""
    if principal.can(Permission.DOWNLOAD_REPORTS):
        return True
    return (principal.can(Permission.DOWNLOAD_WARD_REPORTS) and principal.ward_code is not None
            and info.scope == principal.ward_code)


def _milestone(info: ReportInfo) -> tuple[str, str] | None:
    head, _, rest = info.period_label.partition("-")
    return (MILESTONE_LABELS[head], rest) if info.kind == "period" and head in MILESTONE_LABELS and rest else None


def kind_text(info: ReportInfo) -> str:
    base = KIND_LABELS.get(info.kind, info.kind)
    milestone = _milestone(info)
    return f"{base}（{milestone[0]}）" if milestone else base


def period_text(info: ReportInfo) -> str:
    if info.kind == "weekly":
        return f"{info.period_label} の週"
    milestone = _milestone(info)
    return milestone[1] if milestone else info.period_label


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
