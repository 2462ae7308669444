"""The worker's Kafka clients, from ingest's settings: a consumer group member read in batches
(``contracts.kafka_batches.BatchConsumer``) and an idempotent producer for records and dead letters."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import kafka_batches
from services.ingest.config import IngestSettings


def consumer(settings: IngestSettings) -> AIOKafkaConsumer:
    """Group ``APP_ID``; offsets committed only by the batch reader (call in the running loop)."""
    return kafka_batches.consumer(
        bootstrap=settings.kafka_bootstrap, group_id=settings.app_id, client_id=f"{settings.app_id}-worker",
        group_instance_id=settings.kafka_group_instance_id, session_timeout_s=settings.kafka_session_timeout_s,
        time_ordered=settings.time_order, security=settings.kafka_client_options(),
        fetch_max_bytes=settings.kafka_fetch_max_bytes, partition_fetch_bytes=settings.kafka_partition_fetch_bytes)


def producer(settings: IngestSettings) -> AIOKafkaProducer:
    """The dead-letter topic must take the original bytes of any event the broker accepted (≤ 2 MiB)."""
    return kafka_batches.producer(bootstrap=settings.kafka_bootstrap, client_id=f"{settings.app_id}-worker",
                                  max_request_bytes=settings.producer_max_request_bytes,
                                  security=settings.kafka_client_options())
