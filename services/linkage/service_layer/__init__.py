"""Use cases: records, registry, identification, decisions, deletions, and the service that runs a batch
(handlers.py); messages.py encodes what they publish, ports.py declares what they need."""
