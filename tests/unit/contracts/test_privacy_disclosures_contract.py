"""privacy.disclosures.v1 / privacy.disclosure_replies.v1 (開示): the catalogue creates both, requests are
co-partitioned with linkage.facts.v1 (scoring's owner of a child reads its request), and the ACLs are least
privilege: casework asks and reads the answers, linkage and scoring read the asks and answer, nobody else; the
messages' JSON Schemas in docs/schemas/internal/ are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.admin import write_internal_schemas
from contracts.topics import CATALOGUE
from contracts.topics.linkage_facts import TOPIC as FACTS
from contracts.topics.privacy_disclosures import REPLY_EVENT_TYPE, REPLY_TOPIC, REQUEST_TOPIC
from deploy.kafka.acls import ACCESS, rules

pytestmark = pytest.mark.unit


def test_the_catalogue_creates_both_topics_deleted_by_time() -> None:
    assert REQUEST_TOPIC in CATALOGUE and REPLY_TOPIC in CATALOGUE
    for topic in (REQUEST_TOPIC, REPLY_TOPIC):
        assert topic.config()["cleanup.policy"] == "delete"
    assert (REQUEST_TOPIC.partitions, REQUEST_TOPIC.key) == (FACTS.partitions, FACTS.key)


@pytest.mark.parametrize(("topic", "writers", "readers"), [
    (REQUEST_TOPIC.name, {"casework"}, {"linkage", "scoring"}),
    (REPLY_TOPIC.name, {"linkage", "scoring"}, {"casework"}),
])
def test_only_the_asker_and_the_answerers_touch_the_topics(topic: str, writers: set[str], readers: set[str]) -> None:
    by_name = {a.principal: rules(a) for a in ACCESS}
    assert {n for n, granted in by_name.items() if ("TOPIC", topic, "LITERAL", "WRITE") in granted} == writers
    assert {n for n, granted in by_name.items() if ("TOPIC", topic, "LITERAL", "READ") in granted} == readers
    assert {n for n, granted in by_name.items() if any(r[1] == topic for r in granted)} == writers | readers


def test_the_committed_json_schemas_of_both_messages_are_current(tmp_path: Path) -> None:
    written = write_internal_schemas(tmp_path)
    committed = Path(__file__).resolve().parents[3] / "docs" / "schemas" / "internal"
    assert {p.name for p in written} == {"privacy.disclosure.requested.v1.schema.json",
                                         "privacy.disclosure.answered.v1.schema.json"}
    for path in [*written, tmp_path / "index.json"]:
        assert (committed / path.name).read_text("utf-8") == path.read_text("utf-8"), f"{path.name}: make schemas"
    reply = json.loads((tmp_path / "privacy.disclosure.answered.v1.schema.json").read_text("utf-8"))
    assert reply["properties"]["type"]["const"] == REPLY_EVENT_TYPE and "data" in reply["required"]
