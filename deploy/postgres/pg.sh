#!/usr/bin/env bash
# A private PostgreSQL for tests: Debian's server, own data directory and port, trust auth on 127.0.0.1.
#   deploy/postgres/pg.sh install|start|stop|status|url
# Settings: PG_PORT (15432), PG_DATA_DIR (var/postgres-$PG_PORT).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PORT="${PG_PORT:-15432}"
DATA="${PG_DATA_DIR:-$ROOT/var/postgres-$PORT}"
DB="tsunagu_test"
# As root the server runs as the postgres user, which must be able to reach the data directory: a clone in a
# private directory (mktemp -d is 0700) is not reachable, so the data then lives in /var/tmp under a name
# derived from the checkout and the port (the same for start and stop).
if [ "$(id -u)" = 0 ] && [ -z "${PG_DATA_DIR:-}" ] && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
  DATA="/var/tmp/tsunagu-postgres-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)-$PORT"
fi

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install() {
  if [ -n "$(bindir)" ] && [ -x "$(bindir)/initdb" ]; then return 0; fi
  echo "postgres: installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
}

# initdb and the server refuse to run as root: run them as the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

start() {
  install
  local bin; bin="$(bindir)"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DATA"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "postgres: already running on 127.0.0.1:$PORT"
  else
    rm -f "$DATA/postmaster.pid"  # stale after a kill -9
    as_pg "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off -c full_page_writes=off" start >/dev/null
    echo "postgres: running on 127.0.0.1:$PORT (data $DATA)"
  fi
  as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
    | grep -q 1 || as_pg "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
}

stop() {
  local bin; bin="$(bindir)"
  if [ -n "$bin" ] && [ -f "$DATA/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && echo "postgres: stopped"
  else
    echo "postgres: not running"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) as_pg "$(bindir)/pg_ctl" -D "$DATA" status ;;
  url) echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB" ;;
  *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
