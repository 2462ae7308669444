"""Linkage's compiled modules (services/linkage/native.py): never stale against their sources, the pure Python a
working fallback deciding the same, and — where the build is required (deploy/test.sh, so CI) — in use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.linkage import native

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
REQUIRED = os.environ.get("TSUNAGU_REQUIRE_NATIVE") == "1"

# A small city through both stages, printing a digest of every outcome and message and which modules ran compiled.
SCENARIO = """
import hashlib, orjson
from benchmarks.linkage_synth import add_students, build, small_pool
from services.linkage import native
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change
pop = build(300, names=small_pool())
add_students(pop)
state, settings, digest = LinkageState(), MatchSettings(), hashlib.sha256()
for rec in [*pop.registry_records(), *(r for r, _ in pop.students)]:
    result = handle_record(rec, Change(state, rec.occurred_at), settings)
    digest.update(orjson.dumps([rec.record_id, result.outcome, [(o.channel, o.key, o.payload) for o in result.out]],
                               option=orjson.OPT_SORT_KEYS))
print(len(native.active()), digest.hexdigest())
"""


def _scenario(native_switch: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), native.SWITCH: native_switch}
    run = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    compiled, digest = run.stdout.split()
    return int(compiled), digest


def test_the_digest_covers_every_source_the_build_depends_on(tmp_path: Path) -> None:
    for rel in ("services/linkage/domain/matching.py", "services/linkage/domain/state.py", "contracts/x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("X = 1\n")
    before = native.source_digest(tmp_path)
    for rel in ("services/linkage/domain/matching.py", "services/linkage/domain/state.py", "contracts/x.py"):
        (tmp_path / rel).write_text("X = 2\n")
        assert native.source_digest(tmp_path) != before, rel  # an edit anywhere: the old build is not this one
        (tmp_path / rel).write_text("X = 1\n")
    assert native.source_digest(tmp_path) == before
    (tmp_path / "services/linkage/domain/new.py").write_text("")
    assert native.source_digest(tmp_path) != before


def test_a_build_for_other_sources_is_not_loaded(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import sys; from pathlib import Path; from services.linkage import native\n"
            "native.build_dir = lambda root=native.ROOT: Path(sys.argv[1])\n"  # a directory with no build in it
            "sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, native._Finder)]\n"
            "print(native.install())")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nothing")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False"]


def test_the_switch_runs_the_pure_python() -> None:
    compiled, _ = _scenario("0")
    assert compiled == 0


@pytest.mark.skipif(not (REQUIRED or (native.build_dir() / "complete").exists()),
                    reason="no native build of these sources (make install builds it; CI requires it)")
def test_compiled_and_pure_python_decide_the_same_and_send_the_same_messages() -> None:
    compiled, digest = _scenario("1")
    assert compiled == len(native.COMPILED)
    pure, pure_digest = _scenario("0")
    assert pure == 0
    assert digest == pure_digest


@pytest.mark.skipif(not REQUIRED, reason="TSUNAGU_REQUIRE_NATIVE=1 (deploy/test.sh) asks for the build")
def test_where_required_this_run_uses_the_compiled_modules() -> None:
    import services.linkage.service_layer.records  # noqa: F401  (imports every compiled module)

    assert native.active() == sorted(native.COMPILED)
