#!/usr/bin/env bash
# Runs the whole suite against real infrastructure: a Kafka broker (Maven-fetched, KRaft) and PostgreSQL,
# both private to the test run, plus promtool over the operators' alert rules.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
export TSUNAGU_TEST_KAFKA_PORT="${TSUNAGU_TEST_KAFKA_PORT:-19092}"
export TSUNAGU_TEST_PG_PORT="${TSUNAGU_TEST_PG_PORT:-15432}"
export KAFKA_DATA_DIR="$ROOT/var/kafka-test-$TSUNAGU_TEST_KAFKA_PORT"
# the broker's controller listens on KAFKA_CONTROLLER_PORT (default: the Kafka port + 1); refuse a PostgreSQL port
# on it here, with the reason, rather than let one of the two fail to bind half-way through start-up
controller_port="${KAFKA_CONTROLLER_PORT:-$((TSUNAGU_TEST_KAFKA_PORT + 1))}"
if [ "$controller_port" = "$TSUNAGU_TEST_PG_PORT" ]; then
  echo "TSUNAGU_TEST_PG_PORT=$TSUNAGU_TEST_PG_PORT is the test broker's controller port (KAFKA_CONTROLLER_PORT," \
       "default TSUNAGU_TEST_KAFKA_PORT + 1): choose another PostgreSQL port or set KAFKA_CONTROLLER_PORT" >&2
  exit 2
fi
# The shared test broker is PLAINTEXT, as an explicit development switch: most tests exercise services, not
# authentication. tests/integration/platform/test_kafka_acls.py starts its own SASL/SCRAM broker with the ACLs
# (on TSUNAGU_TEST_SASL_KAFKA_PORT, default a free pair of ports) and runs within this suite.
export KAFKA_SECURITY=plaintext
# the suite runs linkage compiled (make install builds it; tests/unit/linkage/test_native.py fails without it and
# compares it with the pure Python)
export TSUNAGU_REQUIRE_NATIVE="${TSUNAGU_REQUIRE_NATIVE:-1}"
# TSUNAGU_TEST_SASL_KAFKA_PORT: unset, the test takes a free pair of ports (a fixed one clashed with other brokers)

cleanup() {
  KAFKA_PORT="$TSUNAGU_TEST_KAFKA_PORT" deploy/kafka/kafka.sh stop >/dev/null 2>&1 || true
  PG_PORT="$TSUNAGU_TEST_PG_PORT" deploy/postgres/pg.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== infrastructure"
KAFKA_PORT="$TSUNAGU_TEST_KAFKA_PORT" deploy/kafka/kafka.sh start || exit 1
PG_PORT="$TSUNAGU_TEST_PG_PORT" deploy/postgres/pg.sh start || exit 1
export TSUNAGU_TEST_KAFKA_BOOTSTRAP="127.0.0.1:$TSUNAGU_TEST_KAFKA_PORT"
export TSUNAGU_TEST_POSTGRES_URL="$(PG_PORT=$TSUNAGU_TEST_PG_PORT deploy/postgres/pg.sh url)"

echo "== operators' rules (promtool)"
promtool check config deploy/prometheus/prometheus.yml || exit 1
promtool test rules deploy/prometheus/tests/*.yml || exit 1

echo "== pytest"
mkdir -p test-artifacts
# Two workers: most integration time is waiting on the broker and on worker processes, not CPU. A test module is
# one unit of work, and the modules that start service workers run one after another on one worker
# (tests/conftest.py, pytest_xdist_make_scheduler). TSUNAGU_TEST_WORKERS=0 runs in one process.
"$PY" -m pytest -n "${TSUNAGU_TEST_WORKERS:-2}" --dist loadscope --durations=25 \
  --junitxml=test-artifacts/junit.xml "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no test: that is a failure" >&2
  exit 1
fi
if [ $rc -ne 0 ]; then
  echo "broker logs: $KAFKA_DATA_DIR/logs (server.log, controller.log); test artifacts: test-artifacts/" >&2
fi
exit $rc
