# Tsunagu: `make run` brings everything up; `make test` runs the whole suite against real infrastructure.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: install run stop test lint typecheck lock schemas bench clean

$(VENV_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $(VENV_STAMP)

install: $(VENV_STAMP)
	@deploy/kafka/kafka.sh fetch
	@deploy/setup-system.sh

run: install
	@deploy/run.sh start

stop:
	@deploy/run.sh stop

lint: $(VENV_STAMP)
	$(PY) -m ruff check contracts services simulator tests benchmarks

typecheck: $(VENV_STAMP)
	$(PY) -m mypy contracts services simulator

test: install lint typecheck
	@deploy/test.sh

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

schemas: $(VENV_STAMP)
	$(PY) -m contracts.admin schemas --out docs/schemas

clean: stop
	rm -rf var
