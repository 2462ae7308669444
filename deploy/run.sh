#!/usr/bin/env bash
# Brings Tsunagu up on this machine: a real Kafka broker, the topics, the four services (ingest with its HTTP
# intake, linkage, scoring, casework worker + web UI), Prometheus, and the smoke scenario from the simulator.
#   deploy/run.sh start|stop|status
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
RUN="$ROOT/var/run"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_JMX_EXPORTER_PORT="${KAFKA_JMX_EXPORTER_PORT:-9404}"  # the broker's metrics (deploy/kafka/jmx-exporter.yml)
# SASL/SCRAM-SHA-512 with per-service ACLs (deploy/kafka/acls.py); KAFKA_SECURITY=plaintext is the development switch.
export KAFKA_SECURITY="${KAFKA_SECURITY:-sasl_ssl}"
export KAFKA_CREDENTIALS_DIR="${KAFKA_CREDENTIALS_DIR:-$ROOT/var/kafka-credentials}"  # generated on first run
BOOT="127.0.0.1:$KAFKA_PORT"
WEB_PORT="${TSUNAGU_CASEWORK_WEB_PORT:-8000}"
export TSUNAGU_INGEST_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP="$BOOT" \
  TSUNAGU_SCORING_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_CASEWORK_KAFKA_BOOTSTRAP="$BOOT" \
  TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP="$BOOT" \
  TSUNAGU_CASEWORK_WEB_PORT="$WEB_PORT" \
  TSUNAGU_CASEWORK_DATABASE_URL="${TSUNAGU_CASEWORK_DATABASE_URL:-sqlite:///$ROOT/var/casework.db}" \
  TSUNAGU_ENVIRONMENT="${TSUNAGU_ENVIRONMENT:-development}"
# The key that encrypts TOTP secrets in the case database (docs/security.md, "Second factor"): generated on first
# run into var/casework-secrets/totp.key (mode 600, git-ignored with var/), passed as a file, never in the
# environment. A TSUNAGU_CASEWORK_TOTP_KEY or _TOTP_KEY_FILE of your own wins.
if [ -z "${TSUNAGU_CASEWORK_TOTP_KEY:-}" ]; then
  export TSUNAGU_CASEWORK_TOTP_KEY_FILE="${TSUNAGU_CASEWORK_TOTP_KEY_FILE:-$ROOT/var/casework-secrets/totp.key}"
fi
totp_key() {
  local file="${TSUNAGU_CASEWORK_TOTP_KEY_FILE:-}"
  [ -z "$file" ] || [ -s "$file" ] && return 0
  ( umask 077
    mkdir -p "$(dirname "$file")"
    "$PY" -m services.casework.entrypoints.cli new-totp-key >"$file.tmp" && mv "$file.tmp" "$file" )
  echo "TOTP key generated: $file"
}
# A demonstration: the smoke families' missed checkups (absences) show within a minute of loading them instead
# of at the next morning's sweep (docs/scoring.md, "Absence is concluded by the clock").
export TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS="${TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS:-20}"

# Each process authenticates as its own principal: <PREFIX>KAFKA_SECURITY_PROTOCOL, …_SASL_USERNAME and
# …_SASL_PASSWORD_FILE (a file under var/kafka-credentials, never a password in the environment).
kafka_principal() { # env prefix, principal
  if [ "$KAFKA_SECURITY" = sasl_ssl ]; then  # TLS: the broker's certificate checked against the local CA
    export "${1}KAFKA_SECURITY_PROTOCOL=SASL_SSL" "${1}KAFKA_SASL_USERNAME=$2" \
      "${1}KAFKA_SASL_PASSWORD_FILE=$KAFKA_CREDENTIALS_DIR/$2" "${1}KAFKA_SSL_CAFILE=$KAFKA_CREDENTIALS_DIR/tls/ca.pem"
  elif [ "$KAFKA_SECURITY" = sasl ]; then
    export "${1}KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" "${1}KAFKA_SASL_USERNAME=$2" \
      "${1}KAFKA_SASL_PASSWORD_FILE=$KAFKA_CREDENTIALS_DIR/$2"
  else
    export "${1}KAFKA_SECURITY_PROTOCOL=PLAINTEXT"
  fi
}
kafka_principal TSUNAGU_INGEST_ ingest
kafka_principal TSUNAGU_LINKAGE_ linkage
kafka_principal TSUNAGU_SCORING_ scoring
kafka_principal TSUNAGU_CASEWORK_ casework
kafka_principal TSUNAGU_EVALUATION_ evaluation
kafka_principal TSUNAGU_LAG_EXPORTER_ lag-exporter
kafka_principal TSUNAGU_ADMIN_ admin            # topics and the wait for consumer groups
kafka_principal TSUNAGU_SIMULATOR_ simulator    # the smoke scenario stands in for every source system

# One machine for every service: the workers that can fall behind and catch up give linkage, the single-instance
# stage, the cores first (docs/scaling.md, "One machine"). Already set in the environment: kept (0: normal).
export TSUNAGU_INGEST_CPU_NICE="${TSUNAGU_INGEST_CPU_NICE:-10}" TSUNAGU_SCORING_CPU_NICE="${TSUNAGU_SCORING_CPU_NICE:-19}" \
  TSUNAGU_CASEWORK_CPU_NICE="${TSUNAGU_CASEWORK_CPU_NICE:-19}"

# name|module — each a real process with its own log and pid file
SERVICES=(
  "ingest|services.ingest.entrypoints.worker"
  "ingest-http|services.ingest.entrypoints.http_intake"
  "linkage|services.linkage.entrypoints.worker"
  "scoring|services.scoring.entrypoints.worker"
  "casework|services.casework.entrypoints.worker"
  "casework-web|services.casework.entrypoints.web"
  "evaluation|services.evaluation.entrypoints.faust_app"
  "lag-exporter|deploy.lag_exporter"
)

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start_service() {
  local name="$1" module="$2"
  if alive "$name"; then echo "  $name: already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  if [ "$name" = ingest-http ] && [ "$KAFKA_SECURITY" != plaintext ]; then  # same settings class, its own principal
    TSUNAGU_INGEST_KAFKA_SASL_USERNAME=http-intake TSUNAGU_INGEST_KAFKA_SASL_PASSWORD_FILE="$KAFKA_CREDENTIALS_DIR/http-intake" \
      nohup "$PY" -m "$module" >"$RUN/$name.log" 2>&1 &
  else
    nohup "$PY" -m "$module" >"$RUN/$name.log" 2>&1 &
  fi
  echo $! >"$RUN/$name.pid"
  echo "  $name: started (pid $!, log var/run/$name.log)"
}

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until "$PY" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 1
  done
}

start() {
  mkdir -p "$RUN"
  deploy/kafka/kafka.sh start
  "$PY" -m contracts.admin create --bootstrap "$BOOT"
  totp_key
  "$PY" -m services.casework.entrypoints.cli migrate
  echo "services:"
  for entry in "${SERVICES[@]}"; do start_service "${entry%%|*}" "${entry#*|}"; done
  if command -v prometheus >/dev/null && ! alive prometheus; then
    nohup prometheus --config.file="$ROOT/deploy/prometheus/prometheus.yml" --storage.tsdb.path="$RUN/prometheus" \
      --web.listen-address=127.0.0.1:9090 \
      --web.console.templates="$ROOT/deploy/prometheus/consoles" \
      --web.console.libraries="$ROOT/deploy/prometheus/console_libraries" >"$RUN/prometheus.log" 2>&1 &
    echo $! >"$RUN/prometheus.pid"
    echo "  prometheus: started (pid $!)"
  fi
  echo "waiting for the web UI and the consumers to join their groups…"
  wait_http "http://127.0.0.1:$WEB_PORT/healthz" 90 || { echo "casework-web did not come up; see var/run/casework-web.log" >&2; exit 1; }
  "$PY" deploy/wait_consumers.py --bootstrap "$BOOT" --timeout 120
  if [ "$TSUNAGU_ENVIRONMENT" = development ]; then  # refused (exit 2) in production: no demo accounts there
    echo "demo users:"
    "$PY" -m services.casework.entrypoints.cli seed-demo-users
  fi
  # The scenario's dates are relative to a day; its event ids are fixed. The day of the first run is kept with the
  # state (var/), so a later `make run` sends the very same events again (ingest drops them as retries) instead of
  # the same ids with other dates, which ingest rightly dead-letters (duplicate_id_different_content).
  local smoke_day_file="$ROOT/var/smoke-day"
  [ -s "$smoke_day_file" ] || date +%F >"$smoke_day_file"
  echo "publishing the smoke scenario (synthetic families, dated from $(cat "$smoke_day_file")):"
  "$PY" -m simulator smoke --bootstrap "$BOOT" --ward "${TSUNAGU_DEMO_WARD:-40131}" --today "$(cat "$smoke_day_file")"
  cat <<MSG

Tsunagu is running.
  Ward UI (Japanese):      http://127.0.0.1:$WEB_PORT/   (demo families are in 東区: log in as higashi)
  Screenshots:             .venv/bin/python deploy/screenshot.py --user higashi
  Casework API (OpenAPI):  http://127.0.0.1:$WEB_PORT/docs
  HTTP intake (OpenAPI):   http://127.0.0.1:8001/docs   (and /openapi.json; development tokens: dev-<system>)
  Metrics:                 ingest :9101  linkage :9102  scoring :9103  casework :9104 and :$WEB_PORT/metrics
  Prometheus:              http://127.0.0.1:9090/   dashboard: http://127.0.0.1:9090/consoles/tsunagu.html
  Broker and lag metrics:  :$KAFKA_JMX_EXPORTER_PORT (JMX exporter)  :9105 (deploy/lag_exporter.py)
  Kafka:                   $BOOT   ($KAFKA_SECURITY; principals' passwords in var/kafka-credentials, ACLs: deploy/kafka/acls.py)
  TOTP key:                ${TSUNAGU_CASEWORK_TOTP_KEY_FILE:-TSUNAGU_CASEWORK_TOTP_KEY}   (rotate: docs/security.md)
  Logs:                    var/run/*.log
Stop everything with: make stop
MSG
}

stop() {
  for entry in "${SERVICES[@]}" "prometheus|"; do
    local name="${entry%%|*}"
    if alive "$name"; then
      kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 20); do alive "$name" || break; sleep 0.5; done
      alive "$name" && kill -9 "$(cat "$RUN/$name.pid")" 2>/dev/null
      echo "  $name: stopped"
    fi
    rm -f "$RUN/$name.pid"
  done
  deploy/kafka/kafka.sh stop
}

status() {
  for entry in "${SERVICES[@]}" "prometheus|"; do
    local name="${entry%%|*}"
    if alive "$name"; then echo "  $name: running (pid $(cat "$RUN/$name.pid"))"; else echo "  $name: stopped"; fi
  done
  echo "  kafka: $(deploy/kafka/kafka.sh status || true)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
