"""A KRaft cluster id for ``kafka-storage format -t``: 16 random bytes in URL-safe base64 without padding, as Kafka's
``Uuid.randomUuid()`` makes them, and like it never one that starts with ``-``: the format tool's argument parser
takes such a value for an option ("argument --cluster-id/-t: expected one argument"), and one id in 64 did.

    python3 deploy/kafka/cluster_id.py
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable


def cluster_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    for _ in range(64):  # 1 draw in 64 starts with "-": 64 such draws in a row would mean a broken source
        text = base64.urlsafe_b64encode(random_bytes(16)).decode().rstrip("=")
        if not text.startswith("-"):
            return text
    raise RuntimeError("64 random cluster ids in a row started with '-': the random source is not random")


if __name__ == "__main__":
    print(cluster_id())
