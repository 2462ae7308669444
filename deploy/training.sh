#!/usr/bin/env bash
# 研修モード: the ward UI on the synthetic city, for staff training. A deployment of its own that cannot touch or
# show live data: its own Kafka broker (port 9592, data in var/training/kafka), its own consumer groups
# (tsunagu-training-*), its own data directories and case database under var/training/, its own ports; casework
# runs with TSUNAGU_CASEWORK_TRAINING=true (banner 研修用・架空データ on every page; refused in production; refuses
# a database or group not named "training"). Training accounts kensyu01… exist only here.
#   deploy/training.sh start|stop|status|reset|scenarios
#     start      broker, topics, ingest, linkage, scoring, casework worker + web, training accounts, scenarios
#     reset      stop, wipe var/training/ entirely, start again (every scenario and account as new)
#     scenarios  publish the training scenarios again (idempotent: the same ids change nothing)
# Settings: TRAINING_KAFKA_PORT (9592), TRAINING_WEB_PORT (8500), TRAINING_METRICS_BASE (9600: ingest +1,
#   linkage +2, scoring +3, casework +4), TRAINING_CITY_SCALE (0.001), TRAINING_CITY_DAYS (90).
# Manual for the trainer: docs/manual/trainer.md (make manual).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
TRAINING_DIR="$ROOT/var/training"
RUN="$TRAINING_DIR/run"
KAFKA_PORT="${TRAINING_KAFKA_PORT:-9592}"
WEB_PORT="${TRAINING_WEB_PORT:-8500}"
MBASE="${TRAINING_METRICS_BASE:-9600}"
BOOT="127.0.0.1:$KAFKA_PORT"
CITY_SCALE="${TRAINING_CITY_SCALE:-0.001}"
CITY_DAYS="${TRAINING_CITY_DAYS:-90}"

if [ "${TSUNAGU_ENVIRONMENT:-development}" = production ] || [ "${TSUNAGU_CASEWORK_ENVIRONMENT:-}" = production ]; then
  echo "training: refused — TSUNAGU_ENVIRONMENT=production (training mode never runs in production)" >&2
  exit 2
fi
if [ "$KAFKA_PORT" = 9092 ]; then
  echo "training: refused — port 9092 is the live broker's; the training broker needs a port of its own" >&2
  exit 2
fi

# Every setting is forced (not taken from the caller's shell), so a shell prepared for the live system cannot
# point training at the live broker, groups or database.
export KAFKA_PORT KAFKA_DATA_DIR="$TRAINING_DIR/kafka" KAFKA_JMX_EXPORTER_PORT=0
export TSUNAGU_ENVIRONMENT=development
export TSUNAGU_INGEST_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_INGEST_APP_ID=tsunagu-training-ingest \
  TSUNAGU_INGEST_DATA_DIR="$TRAINING_DIR/ingest" TSUNAGU_INGEST_METRICS_PORT=$((MBASE + 1))
export TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_LINKAGE_APP_ID=tsunagu-training-linkage \
  TSUNAGU_LINKAGE_DATA_DIR="$TRAINING_DIR/linkage" TSUNAGU_LINKAGE_METRICS_PORT=$((MBASE + 2))
export TSUNAGU_SCORING_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_SCORING_APP_ID=tsunagu-training-scoring \
  TSUNAGU_SCORING_METRICS_PORT=$((MBASE + 3)) \
  TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS=20
export TSUNAGU_CASEWORK_TRAINING=true TSUNAGU_CASEWORK_ENVIRONMENT=development \
  TSUNAGU_CASEWORK_KAFKA_BOOTSTRAP="$BOOT" TSUNAGU_CASEWORK_APP_ID=tsunagu-training-casework \
  TSUNAGU_CASEWORK_DATA_DIR="$TRAINING_DIR/casework" TSUNAGU_CASEWORK_METRICS_PORT=$((MBASE + 4)) \
  TSUNAGU_CASEWORK_DATABASE_URL="sqlite:///$TRAINING_DIR/casework-training.db" \
  TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH="$TRAINING_DIR/audit.anchor" \
  TSUNAGU_CASEWORK_EXTRACT_DIR="$TRAINING_DIR/extracts" \
  TSUNAGU_CASEWORK_WEB_PORT="$WEB_PORT" TSUNAGU_CASEWORK_WEB_HOST=127.0.0.1
GROUPS_=(tsunagu-training-ingest tsunagu-training-linkage tsunagu-training-scoring tsunagu-training-casework)

SERVICES=(
  "ingest|services.ingest.entrypoints.worker"
  "linkage|services.linkage.entrypoints.worker"
  "scoring|services.scoring.entrypoints.worker"
  "casework|services.casework.entrypoints.worker"
  "casework-web|services.casework.entrypoints.web"
)

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start_service() {
  local name="$1" module="$2"
  if alive "$name"; then echo "  $name: already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  nohup "$PY" -m "$module" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  echo "  $name: started (pid $!, log var/training/run/$name.log)"
}

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until "$PY" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 1
  done
}

scenarios() {
  echo "training scenario A: the seven smoke families in every ward (each ward's trainees have their own)"
  for ward in 40131 40132 40133 40134 40135 40136 40137; do
    "$PY" -m simulator smoke --bootstrap "$BOOT" --ward "$ward" | tail -1
  done
  echo "training scenario B: a slice of the synthetic city (seed 18, scale $CITY_SCALE, the last $CITY_DAYS days):"
  echo "  moves between wards, 児童相談所 involvement, noisy names, clerical reviews"
  local start
  start="$("$PY" -c "import datetime,sys; print(datetime.date.today() - datetime.timedelta(days=int(sys.argv[1])))" \
    "$CITY_DAYS")"
  "$PY" -m simulator generate --seed 18 --scale "$CITY_SCALE" --start "$start" --days "$CITY_DAYS" \
    --bootstrap "$BOOT" --speedup 0 --no-progress | tail -1
}

start() {
  mkdir -p "$RUN"
  deploy/kafka/kafka.sh start
  "$PY" -m contracts.admin create --bootstrap "$BOOT" >/dev/null
  "$PY" -m services.casework.entrypoints.cli migrate
  echo "training services:"
  for entry in "${SERVICES[@]}"; do start_service "${entry%%|*}" "${entry#*|}"; done
  wait_http "http://127.0.0.1:$WEB_PORT/healthz" 90 || {
    echo "casework-web did not come up; see var/training/run/casework-web.log" >&2; exit 1; }
  "$PY" deploy/wait_consumers.py --bootstrap "$BOOT" --timeout 180 --groups "${GROUPS_[@]}"
  "$PY" -m services.casework.entrypoints.cli seed-training-users
  if [ ! -f "$TRAINING_DIR/.scenarios" ]; then
    scenarios
    date -Iseconds >"$TRAINING_DIR/.scenarios"
  else
    echo "training scenarios already published ($(cat "$TRAINING_DIR/.scenarios")); a clean slate: $0 reset"
  fi
  cat <<MSG

研修モード is running (synthetic data only; every page shows 研修用・架空データ).
  Ward UI:   http://127.0.0.1:$WEB_PORT/   accounts kensyu01…kensyu14 (two per ward), kensyu-hq, kensyu-privacy,
             kensyu-jisou; password above. Alerts appear within a minute (missed checkups after ~20 s more).
  Broker:    $BOOT (training only)   Data: var/training/   Logs: var/training/run/*.log
  Reset to the starting point: make training-reset   Stop: make training-stop
MSG
}

stop() {
  for entry in "${SERVICES[@]}"; do
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
  for entry in "${SERVICES[@]}"; do
    local name="${entry%%|*}"
    if alive "$name"; then echo "  $name: running (pid $(cat "$RUN/$name.pid"))"; else echo "  $name: stopped"; fi
  done
  echo "  kafka ($BOOT): $(deploy/kafka/kafka.sh status || true)"
}

reset() {
  stop
  case "$TRAINING_DIR" in */var/training) rm -rf "$TRAINING_DIR" ;; *) echo "refusing to wipe $TRAINING_DIR" >&2; exit 2 ;; esac
  echo "var/training/ wiped: broker data, groups, case database, accounts, audit trail"
  start
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) reset ;;
  scenarios) scenarios ;;
  *) echo "usage: $0 start|stop|status|reset|scenarios" >&2; exit 2 ;;
esac
