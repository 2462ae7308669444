"""The one place that builds linkage's settings, store, state, metrics and service."""

from __future__ import annotations

import gc
import logging

from prometheus_client import CollectorRegistry

from services.linkage.adapters.store import SqliteStore
from services.linkage.config import LinkageSettings
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.service import LinkageService

log = logging.getLogger("tsunagu.linkage")


def match_settings(settings: LinkageSettings) -> MatchSettings:
    return MatchSettings(link_probability=settings.link_probability, new_probability=settings.new_probability,
                         margin_bits=settings.margin_bits)


def bootstrap(settings: LinkageSettings | None = None, *, persist: bool = True,
              registry: CollectorRegistry | None = None) -> tuple[LinkageSettings, LinkageService]:
    settings = settings or LinkageSettings()
    state = LinkageState()
    store = SqliteStore(settings.database_url) if persist else None
    if store is not None:
        rows = store.load(state)
        log.info("linkage state loaded: %d rows, %d persons", rows, len(state.persons))
        gc.collect()
        gc.freeze()  # the loaded registry lives as long as the process: keep full collections from rescanning it
    service = LinkageService(state, store, LinkageMetrics(registry), match_settings(settings), settings.source_uri)
    return settings, service
