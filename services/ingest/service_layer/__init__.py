"""Ingest's use cases that live inside the layers (the older ones are pipeline.py, replay.py, school_import.py)."""
