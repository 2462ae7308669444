"""CSV cells that spreadsheet software cannot run: every export goes through ``safe_cell``."""

from __future__ import annotations

# Excel, LibreOffice and Google Sheets treat a cell starting with one of these as a formula (CSV injection);
# tab and carriage return can hide the start of one. OWASP's advice: prefix such a cell with a quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def safe_row(values: list[object]) -> list[str]:
    return [safe_cell(v) for v in values]
