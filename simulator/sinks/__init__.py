"""Where simulated events go: Kafka, ingest's HTTP intake, JSON Lines files, school CSV media."""

from simulator.sinks.base import SendReport, Sink

__all__ = ["SendReport", "Sink"]
