"""deploy/kafka/cluster_id.py: a broker's cluster id never starts with "-" (kafka-storage format took one for an
option and the broker did not start: one start in 64)."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.kafka.cluster_id import cluster_id

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def _source(*chunks: bytes) -> Iterator[bytes]:
    yield from chunks


def test_an_id_starting_with_a_dash_is_drawn_again() -> None:
    dash = b"\xf8" + bytes(15)  # first six bits 62: "-" in URL-safe base64
    good = bytes(range(16))
    assert base64.urlsafe_b64encode(dash).decode().startswith("-")
    chunks = _source(dash, dash, good)
    text = cluster_id(lambda n: next(chunks))
    assert text == base64.urlsafe_b64encode(good).decode().rstrip("=")
    assert len(text) == 22 and "=" not in text


def test_the_script_prints_an_id_the_format_tool_accepts() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "deploy/kafka/cluster_id.py")], capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    assert len(out) == 22 and not out.startswith("-")
    assert len(base64.urlsafe_b64decode(out + "==")) == 16


def test_a_source_that_only_gives_ids_starting_with_a_dash_is_refused_not_looped_on() -> None:
    dash = b"\xf8" + bytes(15)  # encodes with a leading "-"
    with pytest.raises(RuntimeError, match="not random"):
        cluster_id(lambda n: dash)
