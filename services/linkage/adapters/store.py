"""SQLite persistence of linkage state (via SQLAlchemy) with a transactional outbox (the service layer's Store).

Each batch's state changes and the messages they cause are written in one transaction; messages leave the
outbox only after the broker acknowledged them, so a crash between the two re-sends rather than loses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text

from services.linkage.domain.state import TABLES, LinkageState
from services.linkage.service_layer.ports import Message

# The outbox's value column is NOT NULL (older databases): a tombstone is stored as b"" with this marker header.
TOMBSTONE = "tsunagu.outbox.tombstone"


def _outbox_row(seq: int, m: Message) -> dict[str, object]:
    headers = {**m[3], TOMBSTONE: "1"} if m[2] is None else m[3]
    return {"s": seq, "t": m[0], "k": m[1], "v": m[2] if m[2] is not None else b"", "h": json.dumps(headers)}


def _from_outbox(topic: str, key: bytes | None, value: bytes, h: str) -> Message:
    headers = json.loads(h)
    return topic, key, None if headers.pop(TOMBSTONE, None) else value, headers


class SqliteStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)

        @event.listens_for(self.engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS state (tbl TEXT NOT NULL, k TEXT NOT NULL, "
                              "v TEXT NOT NULL, PRIMARY KEY (tbl, k))"))
            conn.execute(text("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                              "topic TEXT NOT NULL, k BLOB, v BLOB NOT NULL, h TEXT NOT NULL DEFAULT '{}')"))

    def load(self, state: LinkageState) -> int:
        rows = 0
        with self.engine.connect() as conn:
            for table in TABLES:  # persons first: the other tables' indexes refer to them
                for key, value in conn.execute(text("SELECT k, v FROM state WHERE tbl = :t"), {"t": table}):
                    state.load_row(table, key, orjson.loads(value))  # orjson: one string per repeated key
                    rows += 1
        state.end_load()
        return rows

    def loaded(self) -> LinkageState:
        """A fresh state from what is stored (for inspection and tests)."""
        state = LinkageState()
        self.load(state)
        return state

    def commit(self, state: LinkageState, messages: list[Message]) -> list[tuple[int, Message]]:
        """Persists what changed and the messages to send; returns the messages with their outbox sequence."""
        dirty = state.take_dirty()
        upserts = [{"t": t, "k": k, "v": orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()}
                   for t, rows in dirty.items() for k, v in rows.items() if v is not None]
        deletes = [{"t": t, "k": k} for t, rows in dirty.items() for k, v in rows.items() if v is None]
        with self.engine.begin() as conn:
            if upserts:
                conn.execute(text("INSERT INTO state (tbl, k, v) VALUES (:t, :k, :v) "
                                  "ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v"), upserts)
            if deletes:
                conn.execute(text("DELETE FROM state WHERE tbl = :t AND k = :k"), deletes)
            if not messages:
                return []
            first = int(conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM outbox")).scalar_one()) + 1
            sent = list(enumerate(messages, start=first))
            conn.execute(text("INSERT INTO outbox (seq, topic, k, v, h) VALUES (:s, :t, :k, :v, :h)"),
                         [_outbox_row(seq, m) for seq, m in sent])
        return sent

    def pending(self) -> list[tuple[int, Message]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, topic, k, v, h FROM outbox ORDER BY seq")).all()
        return [(int(seq), _from_outbox(topic, key, value, h)) for seq, topic, key, value, h in rows]

    def acknowledge(self, seqs: list[int]) -> None:
        if seqs:
            with self.engine.begin() as conn:
                conn.execute(text("DELETE FROM outbox WHERE seq = :s"), [{"s": s} for s in seqs])
