"""Linkage's hot pure modules compiled with mypyc, used only when built from exactly the sources on disk.

``python -m services.linkage.entrypoints.native_build`` (``make native``, part of ``make install``) compiles
``COMPILED`` in a scratch copy of the tree, so no extension ever lands beside a ``.py``, into
``var/native/<digest>/``, where the digest covers every ``.py`` of the linkage package and of ``contracts`` (what
mypyc type-checked the modules against), the Python version and the extension ABI. ``install()`` (run by
``services/linkage/__init__.py``) computes the digest of the sources as they are now and, when that build exists,
loads those modules from it; any edit to any of those files changes the digest, so a compiled module can never be
stale against its source: until it is built again the pure Python runs, which is the same code and decides the
same (tests/unit/linkage/test_native.py runs both and compares every message).

``TSUNAGU_LINKAGE_NATIVE=0`` runs the pure Python whatever is built. mypyc is a development dependency: where it is
not installed (a runtime image) nothing is built and nothing is needed to import.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
NATIVE_DIR = ROOT / "var" / "native"
# pure modules on every record's path (the seventh speed pass, docs/linkage.md); state, attribution, model and
# unit are not among them (see there)
COMPILED = (
    "services.linkage.domain.blocking", "services.linkage.domain.dates", "services.linkage.domain.identity",
    "services.linkage.domain.matching", "services.linkage.domain.names", "services.linkage.domain.systems",
    "services.linkage.service_layer.decisions", "services.linkage.service_layer.identify",
    "services.linkage.service_layer.records", "services.linkage.service_layer.registry",
    "services.linkage.domain.state", "services.linkage.domain.attribution", "services.linkage.service_layer.unit",
)
DIGESTED = ("services/linkage", "contracts")  # what the compiled code was type-checked against
SWITCH = "TSUNAGU_LINKAGE_NATIVE"
EXT = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def source_digest(root: Path = ROOT) -> str:
    """Of every source the build depends on, as the files are now, and of this interpreter's extension ABI."""
    h = hashlib.sha256(f"{sys.version}|{EXT}".encode())
    for top in DIGESTED:
        for path in sorted((root / top).rglob("*.py")):
            h.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def build_dir(root: Path = ROOT) -> Path:
    return root / "var" / "native" / source_digest(root)


class _Finder(importlib.abc.MetaPathFinder):
    """Serves ``COMPILED`` (and mypyc's shared library for them) from one build directory."""

    def __init__(self, directory: Path) -> None:
        self.files = {_module_name(path.relative_to(directory)): path for path in directory.rglob(f"*{EXT}")}

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def _module_name(relative: Path) -> str:
    return ".".join((*relative.parts[:-1], relative.name[:-len(EXT)]))


def install() -> bool:
    """Loads the compiled modules from this sources' build when it exists; True if it does. Idempotent."""
    if os.environ.get(SWITCH, "1") == "0":
        return False
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return True
    try:
        directory = build_dir()
    except OSError:
        return False
    if not (directory / "complete").exists():
        return False
    finder = _Finder(directory)
    if not set(COMPILED) <= set(finder.files):
        return False
    sys.meta_path.insert(0, finder)
    return True


def active() -> list[str]:
    """The ``COMPILED`` modules imported so far from a compiled build (for tests and benchmarks to say)."""
    return sorted(name for name in COMPILED
                  if (module := sys.modules.get(name)) is not None and str(module.__file__).endswith(EXT))


def build(root: Path = ROOT) -> Path:
    """Compiles ``COMPILED`` for the sources under ``root`` into ``var/native/<digest>`` (nothing if it exists);
    other digests' builds are removed."""
    import shutil  # (here, not at the top: every linkage process imports this module)
    import subprocess
    import tempfile

    digest = source_digest(root)
    target = root / "var" / "native" / digest
    if (target / "complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        tree = Path(scratch) / "tree"
        for top in ("services", "contracts"):
            shutil.copytree(root / top, tree / top, ignore=shutil.ignore_patterns("__pycache__", f"*{EXT}"))
        shutil.copy2(root / "pyproject.toml", tree / "pyproject.toml")  # mypy's settings (the pydantic plugin)
        files = [name.replace(".", "/") + ".py" for name in COMPILED]
        env = {**os.environ, "PYTHONPATH": str(tree), "MYPYC_OPT_LEVEL": os.environ.get("MYPYC_OPT_LEVEL", "3")}
        subprocess.run([sys.executable, "-m", "mypyc", *files], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        if source_digest(root) != digest:  # the sources changed while compiling: this build is of neither
            raise RuntimeError("linkage sources changed during the native build; run it again")
        out = Path(scratch) / "out"
        for so in (tree / "build").glob(f"lib*/**/*{EXT}"):
            dest = out / so.relative_to(next(p for p in so.parents if p.parent == tree / "build"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, dest)
        (out / "complete").write_text(digest + "\n")
        try:
            out.rename(target)
        except OSError:  # another build of the same digest finished first
            if not (target / "complete").exists():
                raise
    for other in target.parent.iterdir():
        if other != target and not other.name.startswith(".build-"):
            shutil.rmtree(other, ignore_errors=True)
    return target
