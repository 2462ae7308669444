"""Creates Tsunagu's topics from the catalogue (idempotent), and writes the JSON Schemas for vendors.

    tsunagu-topics create [--bootstrap 127.0.0.1:9092] [--prefix ""]
    tsunagu-topics schemas [--out docs/schemas]     # and docs/schemas/internal/ (internal topics' messages)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from contracts.envelope import Envelope
from contracts.kafka_security import options_from_env
from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import CATALOGUE, privacy_disclosures


def create_topics(bootstrap: str, timeout_s: float = 60.0) -> list[str]:
    """Creates every catalogue topic that does not exist yet; returns the names it created."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tsunagu-topics",
                                     request_timeout_ms=10_000, **options_from_env("TSUNAGU_ADMIN_"))
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=t.name, num_partitions=t.partitions, replication_factor=1, topic_configs=t.config())
            for t in CATALOGUE if t.name not in existing
        ]
        created: list[str] = []
        for topic in missing:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another process created it meanwhile: that is the state we want
        return created
    finally:
        admin.close()


def write_schemas(out: Path) -> list[Path]:
    """One JSON Schema per source event type: the CloudEvents envelope with that type's data."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index = []
    for system in SOURCE_SYSTEMS.values():
        for event_type, model in system.event_types.items():
            schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
            schema["title"] = f"{system.label_ja}: {event_type}"
            schema["properties"]["type"] = {"const": event_type, "type": "string",
                                            "description": "Event type"}
            schema["$id"] = f"urn:tsunagu:schema:{event_type}:v1"
            path = out / f"{event_type}.v1.schema.json"
            path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            written.append(path)
            index.append({"system": system.system, "label_ja": system.label_ja, "topic": system.topic,
                          "type": event_type, "schema": path.name, "school_media": system.school_media})
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return written


# Internal topics whose messages have a published JSON Schema (docs/schemas/internal/): (event type, topic, model).
INTERNAL_SCHEMAS = (
    (privacy_disclosures.REQUEST_EVENT_TYPE, privacy_disclosures.REQUEST_TOPIC.name,
     privacy_disclosures.DisclosureRequestV1),
    (privacy_disclosures.REPLY_EVENT_TYPE, privacy_disclosures.REPLY_TOPIC.name, privacy_disclosures.DisclosureReplyV1),
)


def write_internal_schemas(out: Path) -> list[Path]:
    """One JSON Schema per internal event type listed in INTERNAL_SCHEMAS, with an index (type, topic, file)."""
    out.mkdir(parents=True, exist_ok=True)
    written, index = [], []
    for event_type, topic, model in INTERNAL_SCHEMAS:
        schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = f"{topic}: {event_type}"
        schema["properties"]["type"] = {"const": event_type, "type": "string", "description": "Event type"}
        schema["$id"] = f"urn:tsunagu:schema:{event_type}:v1"
        path = out / f"{event_type}.v1.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
        index.append({"topic": topic, "type": event_type, "schema": path.name})
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsunagu-topics")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create the catalogue's topics")
    create.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    schemas = sub.add_parser("schemas", help="write JSON Schemas for source-system vendors")
    schemas.add_argument("--out", default="docs/schemas", type=Path)
    args = parser.parse_args(argv)
    if args.command == "create":
        created = create_topics(args.bootstrap)
        print(f"topics: {len(created)} created, {len(CATALOGUE) - len(created)} already present")
    else:
        written = write_schemas(args.out)
        internal = write_internal_schemas(args.out / "internal")
        print(f"schemas: {len(written)} written to {args.out}, {len(internal)} to {args.out / 'internal'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
