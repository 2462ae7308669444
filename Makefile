# Tsunagu: `make run` brings everything up; `make test` runs the whole suite against real infrastructure.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: native install run stop test lint typecheck lock schemas bench clean training training-stop training-reset manual manual-screenshots

$(VENV_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $(VENV_STAMP)

# linkage's hot pure modules compiled with mypyc into var/native/<digest of the sources> (services/linkage/native.py):
# a build is loaded only for exactly the sources it was made from, so after an edit linkage runs as pure Python
# until this runs again; TSUNAGU_LINKAGE_NATIVE=0 runs the pure Python anyway
native: $(VENV_STAMP)
	@$(PY) -m services.linkage.entrypoints.native_build

install: $(VENV_STAMP) native
	@deploy/kafka/kafka.sh fetch
	@deploy/setup-system.sh

run: install
	@deploy/run.sh start

stop:
	@deploy/run.sh stop

lint: $(VENV_STAMP)
	$(PY) -m ruff check contracts services simulator tests benchmarks
	.venv/bin/lint-imports --no-logo  # the dependency rule: [tool.importlinter] in pyproject.toml

typecheck: $(VENV_STAMP)
	$(PY) -m mypy contracts services simulator

test: install lint typecheck
	@deploy/test.sh

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

schemas: $(VENV_STAMP)
	$(PY) -m contracts.admin schemas --out docs/schemas

# 研修モード (docs/manual/trainer.md): the synthetic city on a broker, groups, database and ports of its own.
training: install
	@deploy/training.sh start

training-stop:
	@deploy/training.sh stop

training-reset: install
	@deploy/training.sh reset

# The staff manual (docs/manual, Japanese) as HTML in var/manual/site (mkdocs.yml); --strict fails on a warning or
# a broken link, and the hook docs/manual/_hooks/offline.py on any page or asset loaded from outside the machine.
manual: $(VENV_STAMP)
	$(PY) -m mkdocs build --strict --clean

# Screenshots for the manual from a casework web started on synthetic data (SQLite, headless Chromium).
manual-screenshots: $(VENV_STAMP)
	$(PY) deploy/manual_screenshots.py --out docs/manual/img

clean: stop
	rm -rf var
