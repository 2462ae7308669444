"""Reading school media files: UTF-8 or Shift_JIS/CP932, comma or tab, a header row, line numbers kept.

A byte that does not decode becomes U+FFFD in its cell, so one bad row is refused and the rest import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENCODINGS = ("auto", "utf-8", "cp932")
# The csv module stops a whole file at a cell over 128 KiB; a row that large is refused by size instead.
csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True)
class CsvFile:
    path: Path
    encoding: str  # utf-8 or cp932 (the superset of Shift_JIS that Windows spreadsheets write)
    delimiter: str
    header: list[str]
    text: str
    row_count_estimate: int

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number in the file, cells) for every non-blank row after the header."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader, None)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells

    def write_rejects(self, path: Path, rejects: list[tuple[int, str, str, list[str]]]) -> None:
        write_rejects(path, self.header, rejects)


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with a stray bad byte is still UTF-8: Shift_JIS text fails UTF-8 almost everywhere.
    as_utf8 = data.decode("utf-8", errors="replace")
    bad = as_utf8.count("\ufffd")
    good = len(as_utf8) - len(as_utf8.encode("ascii", "ignore")) - bad
    return "utf-8" if bad * 50 < good else "cp932"


def open_csv(path: Path, encoding: str = "auto", delimiter: str | None = None) -> CsvFile:
    data = path.read_bytes()
    chosen = detect_encoding(data) if encoding == "auto" else encoding
    text = data.decode("utf-8-sig" if chosen == "utf-8" else chosen, errors="replace")
    first_line = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" or first_line.count("\t") > first_line.count(",") else ","
    header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    return CsvFile(path=path, encoding=chosen, delimiter=delimiter, header=[h.strip() for h in header], text=text,
                   row_count_estimate=max(text.count("\n") - 1, 0))


def write_rejects(path: Path, header: list[str], rejects: list[tuple[int, str, str, list[str]]]) -> None:
    """Rejected rows for the school to fix: UTF-8 with BOM, so spreadsheet software opens it as is."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["行", "理由", "種別", *header])
        for line, error_class, reason, cells in rejects:
            writer.writerow([line, reason, error_class, *(_safe_cell(c) for c in cells)])


def _safe_cell(text: str) -> str:
    """A cell from external media that a spreadsheet would run as a formula gets a leading quote."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
