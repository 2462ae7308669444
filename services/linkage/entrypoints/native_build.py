"""``python -m services.linkage.entrypoints.native_build``: compiles linkage's hot pure modules with mypyc for the
sources as they are (``services/linkage/native.py``); `make install` and the image build run it. Without mypyc
(not a runtime dependency) it says so and builds nothing: linkage then runs as pure Python."""

from __future__ import annotations

import importlib.util

from services.linkage import native


def main() -> None:
    if importlib.util.find_spec("mypyc") is None:
        print("linkage native build: mypyc is not installed; linkage runs as pure Python")
        return
    print(f"linkage native build: {native.build()}")


if __name__ == "__main__":
    main()
