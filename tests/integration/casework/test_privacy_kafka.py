"""A deletion reaches the real broker: casework's outbox relay publishes privacy.deletions.v1 (issue 15)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from contracts.topics.privacy_deletions import TOPIC, DeletionRequestV1
from services.casework.bootstrap import Container
from services.casework.service_layer import privacy_deletion
from services.casework.service_layer.worker import WorkerHandlers
from tests.kafka_reader import TopicReader
from tests.unit.casework.privacy_data import add_users, populate

pytestmark = pytest.mark.integration


def test_deletion_request_is_published_to_the_catalogue_topic(kafka_bootstrap: str, pg_container: Container) -> None:
    add_users(pg_container)
    prefix = f"pk{uuid.uuid4().hex[:6]}"
    populate(pg_container, n=6, prefix=prefix)
    child = f"{prefix}-00003"
    reader = TopicReader(kafka_bootstrap, TOPIC.name)
    result = privacy_deletion.delete_person(pg_container, username="privacy", child_id=child, requested_by="本人",
                                            request_ref="R-k", confirm=lambda _c, _e: True)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")

    async def send_many(batch: list[tuple[str, str, bytes]]) -> None:
        futures = [producer.send(topic, key=key.encode(), value=value) for topic, key, value in batch]
        for future in futures:
            future.get(timeout=30)

    published = asyncio.run(WorkerHandlers(pg_container).publish_outbox(send_many))
    producer.close()
    assert published >= 1
    [event] = reader.events(lambda e: (e.get("data") or {}).get("child_id") == child, 1, timeout_s=60)
    data = DeletionRequestV1.model_validate(event["data"])
    assert event["id"] == result.request_id and data.requested_by == "本人" and data.deleted_in == ["casework"]
    # the catalogue created it as a deleting (not compacted) topic: every consumer sees every deletion again
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC.name)])
        entries = configs["topic"][TOPIC.name]  # kafka-python 3: {"topic": {name: {config: {"value": ...}}}}
        assert entries["cleanup.policy"]["value"] == "delete"
        assert entries["retention.ms"]["value"] == TOPIC.config()["retention.ms"]
    finally:
        admin.close()
