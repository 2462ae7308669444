"""A casework on in-memory SQLite filled through the worker's real intake path, and the privacy requests' users
and calls, for the extract, disclosure, deletion and opt-out tests (unit and integration)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from services.casework.adapters.db import session_factory
from services.casework.adapters.orm import Base
from services.casework.bootstrap import Container, totp_box
from services.casework.config import CaseworkSettings
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.service_layer import privacy_extract
from services.casework.service_layer.auth import create_user
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
WARDS = ["40131", "40132", "40133"]
USERS = {"hq": "hq_admin", "privacy": "privacy_officer", "higashi": "ward_staff", "analyst": "analyst"}


def memory_container(url: str = "sqlite://") -> Container:
    engine = create_engine(url, poolclass=StaticPool)
    Base.metadata.create_all(engine)
    settings = CaseworkSettings(database_url=url, environment="test", session_secret="t" * 32)
    return Container(settings=settings, engine=engine, sessions=session_factory(engine),
                     read_sessions=session_factory(engine), policy=AlertPolicy(), clock=lambda: NOW,
                     totp_box=totp_box(settings))


def add_users(c: Container) -> None:
    with c.sessions.begin() as session:
        for name, role in USERS.items():
            create_user(session, username=name, password="x", role=role, ward_code="40131" if role == "ward_staff"
                        else None, division=None, now=NOW, check_strength=False)


def populate(c: Container, n: int = 400, seed: int = 7, prefix: str = "pc") -> list[dict[str, Any]]:
    """n children with profiles (names, kana, addresses: the identifiers that must not leave); every third flagged."""
    rng = random.Random(seed)
    handlers = WorkerHandlers(c)
    people = []
    for i in range(n):
        child = {"id": f"{prefix}-{i:05d}", "ward": rng.choice(WARDS), "name": f"試験 太郎{i}",
                 "birth": f"{rng.randint(2011, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}
        event = profile_event(child["id"], child["ward"], name=child["name"], birth_date=child["birth"])
        event["data"]["household_id"] = f"hh-{prefix}-{i // 2}"
        event["data"]["address"] = f"福岡市東区箱崎{i}-1-1"
        event["data"]["sex"] = rng.choice(["1", "2"])
        handlers.process("profile", raw(event), where="test")
        if i % 3 == 0:
            items = [17, 19] if i % 2 else [3]
            handlers.process("flags", raw(flags_event(child["id"], None, [], items, tier_after="予防")), where="t")
        people.append(child)
    return people


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def produce(c: Container, out: Path, **overrides: Any) -> privacy_extract.ExtractResult:
    args: dict[str, Any] = {"username": "hq", "purpose": "令和7年度 評価・検証", "period_from": "2025-04-01",
                            "period_to": "2026-06-30", "out": out} | overrides
    return privacy_extract.produce(c, **args)
