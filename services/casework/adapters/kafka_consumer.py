"""The worker's Kafka clients, from casework's settings: a consumer group member read in batches
(``contracts.kafka_batches.BatchConsumer``) and an idempotent producer for the outbox relay."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import kafka_batches
from services.casework.config import CaseworkSettings


def consumer(settings: CaseworkSettings) -> AIOKafkaConsumer:
    """Group ``APP_ID``; offsets committed only by the batch reader (call in the running loop)."""
    return kafka_batches.consumer(
        bootstrap=settings.kafka_bootstrap, group_id=settings.app_id, client_id=f"{settings.app_id}-worker",
        group_instance_id=settings.kafka_group_instance_id, session_timeout_s=settings.kafka_session_timeout_s,
        security=settings.kafka_client_options(), auto_offset_reset=settings.auto_offset_reset)


def producer(settings: CaseworkSettings) -> AIOKafkaProducer:
    return kafka_batches.producer(bootstrap=settings.kafka_bootstrap, client_id=f"{settings.app_id}-worker",
                                  security=settings.kafka_client_options())
