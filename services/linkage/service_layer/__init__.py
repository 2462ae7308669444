"""Use cases: records, registry, identification, decisions, deletions, and the service that runs a batch."""
