"""What was already done, by id: school-media rows imported or refused, dead letters replayed.

So a re-import or a second replay emits nothing new.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


class ImportLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rows (event_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, "
                         "imported_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP) WITHOUT ROWID")

    def outcome(self, event_id: str) -> str | None:
        row = self._db.execute("SELECT outcome FROM rows WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else str(row[0])

    def outcomes(self, event_ids: list[str]) -> dict[str, str]:
        """Many lookups in one query: a 130k-row file asks once per chunk, not once per row."""
        found: dict[str, str] = {}
        for start in range(0, len(event_ids), 900):  # below SQLite's oldest bound-variable limit
            chunk = event_ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT event_id, outcome FROM rows WHERE event_id IN ({marks})",  # noqa: S608
                                          chunk).fetchall())
        return found

    def record(self, entries: Iterable[tuple[str, str]]) -> None:
        """(event id, "published" | "rejected"); a later "published" overrides an earlier "rejected"."""
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO rows (event_id, outcome) VALUES (?, ?) "
                             "ON CONFLICT(event_id) DO UPDATE SET outcome = excluded.outcome", list(entries))
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
