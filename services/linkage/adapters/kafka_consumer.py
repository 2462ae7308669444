"""The worker's Kafka clients, from linkage's settings: a consumer group member read in batches
(``contracts.kafka_batches.BatchConsumer``) and an idempotent producer for the outbox."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import kafka_batches
from services.linkage.config import LinkageSettings


def consumer(settings: LinkageSettings) -> AIOKafkaConsumer:
    """Group ``APP_ID``; offsets committed only by the batch reader (call in the running loop)."""
    return kafka_batches.consumer(
        bootstrap=settings.kafka_bootstrap, group_id=settings.app_id, client_id=f"{settings.app_id}-worker",
        group_instance_id=settings.kafka_group_instance_id, session_timeout_s=settings.kafka_session_timeout_s,
        time_ordered=settings.time_order, security=settings.kafka_client_options())


def producer(settings: LinkageSettings) -> AIOKafkaProducer:
    return kafka_batches.producer(bootstrap=settings.kafka_bootstrap, client_id=f"{settings.app_id}-worker",
                                  security=settings.kafka_client_options())
