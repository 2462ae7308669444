"""privacy.disclosures.v1 / privacy.disclosure_replies.v1 (開示): the catalogue creates both, requests are
co-partitioned with linkage.facts.v1 (scoring's owner of a child reads its request), and the ACLs are least
privilege: casework asks and reads the answers, linkage and scoring read the asks and answer, nobody else."""

from __future__ import annotations

import pytest

from contracts.topics import CATALOGUE
from contracts.topics.linkage_facts import TOPIC as FACTS
from contracts.topics.privacy_disclosures import REPLY_TOPIC, REQUEST_TOPIC
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
