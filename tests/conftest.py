"""Shared fixtures: the real infrastructure a test needs, chosen once per session.

Kafka: ``TSUNAGU_TEST_KAFKA_BOOTSTRAP`` if set; else testcontainers where a Docker engine answers; else the
Maven-fetched broker started by ``deploy/kafka/kafka.sh`` on ``TSUNAGU_TEST_KAFKA_PORT`` (default 19092).
PostgreSQL: ``TSUNAGU_TEST_POSTGRES_URL`` if set; else ``deploy/postgres/pg.sh`` on ``TSUNAGU_TEST_PG_PORT``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

# The suite runs two pytest workers on two cores beside a broker, PostgreSQL and service processes: there, a property
# test's time (hypothesis's 200 ms deadline, its "input generation is slow" check) measures the machine's load, not
# the code, and failed a green change once (30 Nov 2026). Its examples and their count stay hypothesis's defaults; a
# test's own @settings still overrides what it names.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def _docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _local_broker(port: str) -> Iterator[str]:
    env = {**os.environ, "KAFKA_PORT": port, "KAFKA_DATA_DIR": str(ROOT / "var" / f"kafka-test-{port}")}
    script = str(ROOT / "deploy/kafka/kafka.sh")
    already = subprocess.run([script, "status"], env=env, capture_output=True).returncode == 0
    subprocess.run([script, "start"], env=env, check=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if not already and not os.environ.get("TSUNAGU_TEST_KEEP_BROKER"):
            subprocess.run([script, "stop"], env=env, check=False)


def _container_broker() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = (
        DockerContainer("apache/kafka:4.1.1")
        .with_bind_ports(9092, 19092)
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://127.0.0.1:19092")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    with container:
        wait_for_logs(container, "Kafka Server started", timeout=120)
        yield "127.0.0.1:19092"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka broker with the catalogue's topics created."""
    from contracts.admin import create_topics

    explicit = os.environ.get("TSUNAGU_TEST_KAFKA_BOOTSTRAP")
    if explicit:
        source: Iterator[str] = iter([explicit])
    elif _docker_available():
        source = _container_broker()
    else:
        source = _local_broker(os.environ.get("TSUNAGU_TEST_KAFKA_PORT", "19092"))
    bootstrap = next(source)
    create_topics(bootstrap)
    yield bootstrap
    for _ in source:  # runs the generator's clean-up
        pass


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL database URL (SQLAlchemy form)."""
    explicit = os.environ.get("TSUNAGU_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    port = os.environ.get("TSUNAGU_TEST_PG_PORT", "15432")
    env = {**os.environ, "PG_PORT": port}
    script = str(ROOT / "deploy/postgres/pg.sh")
    subprocess.run([script, "start"], env=env, check=True, capture_output=True)
    return subprocess.run([script, "url"], env=env, check=True, capture_output=True, text=True).stdout.strip()


LEVELS = ("unit", "integration", "e2e")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failed test that used the broker says where the broker's own logs are (server.log, controller.log)."""
    report: pytest.TestReport = yield
    if report.failed and "kafka_bootstrap" in getattr(item, "fixturenames", ()):
        port = os.environ.get("TSUNAGU_TEST_KAFKA_PORT", "19092")
        logs = Path(os.environ.get("KAFKA_DATA_DIR", ROOT / "var" / f"kafka-test-{port}")) / "logs"
        report.sections.append(("broker logs", f"{logs}/server.log, {logs}/controller.log"))
    return report


# A module that starts service workers (Faust apps or workers reading the shared topics) runs alone among such modules:
# two of them at once would both consume the same source, records, facts or flags topics — each test's events
# processed twice, by its own worker and the other module's (each in its own consumer group).
_RUNS_WORKERS = ("faust_app", "entrypoints.worker", "ingest_worker(", "tests.integration.scoring.worker",
                 "tests.integration.casework.processes")


def _runs_workers(path: Path, seen: dict[Path, bool] = {}) -> bool:  # noqa: B006 — a per-session memo
    """Whether the module starts service workers on the shared test broker (a module that brings its own broker
    says ``OWN_BROKER = True`` and runs beside the others)."""
    if path not in seen:
        text = path.read_text("utf-8", errors="replace") if path.suffix == ".py" else ""
        seen[path] = any(marker in text for marker in _RUNS_WORKERS) and "OWN_BROKER = True" not in text
    return seen[path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test says which level it is: a test without unit/integration/e2e is a collection error."""
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(m) for m in LEVELS)]
    if unmarked:
        raise pytest.UsageError("tests without a unit/integration/e2e marker:\n  " + "\n  ".join(unmarked))


_WORKER_SECONDS: dict[str, float] = {}  # per pytest-xdist worker: seconds its tests took (setup, call, teardown)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    node = getattr(report, "node", None)  # set on the controller for a report that came from a worker
    gateway = getattr(getattr(node, "gateway", None), "id", None)
    if gateway:
        _WORKER_SECONDS[gateway] = _WORKER_SECONDS.get(gateway, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each worker's busy time: the suite lasts as long as the busiest one (the services chain runs on one), so
    this says which chain to shorten when the suite nears its 15 minutes."""
    if _WORKER_SECONDS:
        terminalreporter.write_line("time in tests per worker: " + ", ".join(
            f"{gateway} {seconds:.0f} s" for gateway, seconds in sorted(_WORKER_SECONDS.items())))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """How ``make test``'s two pytest-xdist workers share the suite: a test module is one unit of work (its
    module-scoped fixtures — a schema, a consumer group, a worker process — are not shared across processes),
    and every module that starts service workers, the e2e tests among them, is in a single unit ("services"),
    run one module at a time. (``--dist loadgroup`` with xdist_group marks did not group anything here with
    pytest-xdist 3.8.0: checked on a four-test module, they were spread over both workers.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("tests/e2e/") or _runs_workers(ROOT / path):
                return "services"
            return path

    return ByModule(config, log)


@contextmanager
def _fresh_schema(postgres_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL schema, dropped afterwards; the URL puts it first on the search path."""
    import uuid

    import sqlalchemy as sa

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """An empty PostgreSQL schema for one test."""
    with _fresh_schema(postgres_url, "t") as url:
        yield url


@pytest.fixture(scope="module")
def fresh_database_url(postgres_url: str) -> Iterator[str]:
    """An empty PostgreSQL schema shared by one test module."""
    with _fresh_schema(postgres_url, "m") as url:
        yield url
