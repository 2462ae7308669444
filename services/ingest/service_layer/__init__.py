"""Ingest's use cases: a source message in (handlers.py), a school file imported, dead letters replayed; their ports."""
