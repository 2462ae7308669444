"""Use cases: one module per area, each taking the message first and its dependencies by name."""
