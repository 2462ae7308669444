#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one combined broker+controller) without Docker.
#   deploy/kafka/kafka.sh fetch|start|stop|status|wait|acls
# Settings (environment): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
#   KAFKA_DATA_DIR (var/kafka-$KAFKA_PORT), KAFKA_HEAP (512m),
#   KAFKA_GC (-XX:+UseParallelGC): the JVM's garbage collector. The throughput collector: on this 2-core machine
#   G1 (Kafka's own default) cost the broker ≈ 1.8× the CPU per message in a drain, and Parallel's pauses stayed
#   ≤ 40 ms at a 512 MiB heap (docs/scaling.md, fifteenth pass); KAFKA_GC=-XX:+UseG1GC for a large heap,
#   KAFKA_JMX_EXPORTER_PORT (unset: off): serve the broker's metrics for Prometheus on 127.0.0.1:<port>/metrics
#   through the JMX exporter java agent (rules: jmx-exporter.yml). deploy/run.sh sets 9404.
#   KAFKA_SECURITY (plaintext): sasl = SASL/SCRAM-SHA-512 clients' listener, the controller listener on SASL/PLAIN,
#   StandardAuthorizer with no access unless granted, one principal per service created at format time and the
#   ACLs of deploy/kafka/acls.py applied at every start (passwords: KAFKA_CREDENTIALS_DIR, var/kafka-credentials,
#   one file per principal, generated on first use). sasl_ssl = the same over TLS: a local CA and the broker's
#   certificate (127.0.0.1, localhost) generated on first use in KAFKA_CREDENTIALS_DIR/tls (clients verify the
#   broker with tls/ca.pem). plaintext = no authentication: a development switch only;
#   deploy/run.sh uses sasl_ssl, deploy/test.sh says plaintext explicitly.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
DATA="${KAFKA_DATA_DIR:-$ROOT/var/kafka-$PORT}"
JARS="$HERE/.jars"
PIDFILE="$DATA/broker.pid"
LOG="$DATA/broker.log"
SECURITY="${KAFKA_SECURITY:-plaintext}"
CREDS="${KAFKA_CREDENTIALS_DIR:-$ROOT/var/kafka-credentials}"
case "$SECURITY" in plaintext|sasl|sasl_ssl) ;;
  *) echo "kafka: KAFKA_SECURITY must be plaintext, sasl or sasl_ssl" >&2; exit 2 ;; esac
MARK="# port=$PORT"
if [ "$SECURITY" != plaintext ]; then MARK="# port=$PORT security=$SECURITY"; fi
TLS="$CREDS/tls"
TLS_ARGS=()
if [ "$SECURITY" = sasl_ssl ]; then TLS_ARGS=(--tls-ca "$TLS/ca.pem"); fi

acls_py() {
  (cd "$ROOT" && "$ROOT/.venv/bin/python" -m deploy.kafka.acls --dir "$CREDS" --bootstrap "127.0.0.1:$PORT" \
    "${TLS_ARGS[@]}" "$@")
}

# sasl_ssl: a CA of this machine's own and the broker's key and certificate, made once (openssl) and kept with the
# principals' passwords. The keystore is PKCS12 with a generated password; clients trust only tls/ca.pem.
tls_material() {
  if [ -f "$TLS/broker.p12" ] && [ -f "$TLS/ca.pem" ] && [ -f "$TLS/keystore-password" ]; then return 0; fi
  mkdir -p "$TLS"
  chmod 700 "$CREDS" "$TLS"
  ( umask 077
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Tsunagu local CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -out broker.pem \
      -extfile broker.ext 2>/dev/null
    python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >keystore-password
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker -out broker.p12 \
      -passout file:keystore-password
    rm -f broker.csr broker.ext ca.srl
    chmod 644 ca.pem )
  echo "kafka: made a local CA and the broker's TLS certificate in $TLS" >&2
}

fetch() {
  if [ -f "$JARS/.complete" ] && [ "$JARS/.complete" -nt "$HERE/pom.xml" ]; then return 0; fi
  echo "kafka: fetching broker jars from Maven Central (cached in ~/.m2)" >&2
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=.jars -DincludeScope=runtime)
  touch "$JARS/.complete"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# shellcheck disable=SC2206  # KAFKA_GC may hold several flags
JAVA=(java -Xms128m -Xmx"${KAFKA_HEAP:-512m}" ${KAFKA_GC:--XX:+UseParallelGC} -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$DATA/logs" -cp "$JARS/*")

# The JMX exporter agent, for the broker process only (not the storage tool); set after fetch().
AGENT=()
agent_args() {
  if [ -z "${KAFKA_JMX_EXPORTER_PORT:-}" ] || [ "$KAFKA_JMX_EXPORTER_PORT" = 0 ]; then return 0; fi
  local jar
  jar="$(find "$JARS/" -maxdepth 1 -name 'jmx_prometheus_javaagent-*.jar' | sort | tail -1)"
  if [ -z "$jar" ]; then echo "kafka: no JMX exporter agent in $JARS (run: $0 fetch)" >&2; exit 1; fi
  AGENT=("-javaagent:$jar=127.0.0.1:$KAFKA_JMX_EXPORTER_PORT:$HERE/jmx-exporter.yml")
}

listener_config() {
  if [ "$SECURITY" = plaintext ]; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
PROPS
    return 0
  fi
  local pw; pw="$(cat "$CREDS/admin")"
  local name=SASL_PLAINTEXT; if [ "$SECURITY" = sasl_ssl ]; then name=SASL_SSL; fi
  local lower; lower="$(echo "$name" | tr '[:upper:]' '[:lower:]')"
  cat <<PROPS
listeners=$name://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=$name://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$name
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,$name:$name
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.$lower.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$pw" user_admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
PROPS
  if [ "$SECURITY" = sasl_ssl ]; then
    cat <<PROPS
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS/broker.p12
ssl.keystore.password=$(cat "$TLS/keystore-password")
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.client.auth=none
PROPS
  fi
}

write_config() {
  mkdir -p "$DATA/logs"
  chmod 700 "$DATA"
  if [ "$SECURITY" != plaintext ]; then acls_py credentials >/dev/null; fi
  if [ "$SECURITY" = sasl_ssl ]; then tls_material; fi
  ( umask 077
  cat >"$DATA/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
$(listener_config)
log.dirs=$DATA/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.check.interval.ms=60000
message.max.bytes=2097152
PROPS
  )
}

format_storage() {
  # A data directory left by a different config (other port, crashed format) is stale: start afresh.
  if [ -f "$DATA/data/meta.properties" ] && grep -qx "$MARK" "$DATA/data/.tsunagu" 2>/dev/null; then
    return 0
  fi
  rm -rf "$DATA/data"
  local cid scram=()
  cid="$(python3 "$HERE/cluster_id.py")"  # never starting with "-" (the format tool took it for an option)
  if [ "$SECURITY" != plaintext ]; then  # every principal's SCRAM credentials, in the metadata from the start
    local line
    while IFS= read -r line; do scram+=(--add-scram "$line"); done < <(acls_py scram-args)
  fi
  if ! "${JAVA[@]}" kafka.tools.StorageTool format -t "$cid" -c "$DATA/server.properties" "${scram[@]}" \
    >"$DATA/format.log" 2>&1; then
    echo "kafka: formatting $DATA/data failed ($DATA/format.log):" >&2
    tail -n 5 "$DATA/format.log" >&2
    exit 1
  fi
  echo "$MARK" >"$DATA/data/.tsunagu"
}

start() {
  fetch
  if running && accepting; then echo "kafka: already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; return 0; fi
  if running; then stop; fi
  if accepting; then echo "kafka: port $PORT is taken by another process" >&2; exit 1; fi
  write_config
  format_storage
  agent_args
  nohup "${JAVA[@]}" "${AGENT[@]}" kafka.Kafka "$DATA/server.properties" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_ready
  if [ "$SECURITY" != plaintext ]; then
    acls_py apply
    local over="SASL_PLAINTEXT"; if [ "$SECURITY" = sasl_ssl ]; then over="SASL_SSL (TLS, CA $TLS/ca.pem)"; fi
    echo "kafka: running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), data $DATA), $over SCRAM-SHA-512 with ACLs"
  else
    echo "kafka: running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), data $DATA), PLAINTEXT: no authentication" \
      "(development switch)"
  fi
}

wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  # The port opens before the broker has joined the KRaft quorum: ask for metadata to be sure.
  local user="" cred="" ca=""
  if [ "$SECURITY" != plaintext ]; then user=admin cred="$CREDS/admin"; fi
  if [ "$SECURITY" = sasl_ssl ]; then ca="$TLS/ca.pem"; fi
  until accepting && (cd "$ROOT" && "$ROOT/.venv/bin/python" - "$PORT" "$user" "$cred" "$ca" <<'PY' 2>/dev/null)
import sys
from pathlib import Path
from kafka import KafkaAdminClient
from contracts.kafka_security import client_options
port, user, cred, ca = sys.argv[1:5]
auth = {} if not user else client_options("SASL_SSL" if ca else "SASL_PLAINTEXT", user,
                                          Path(cred).read_text().strip(), ca or None)
admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000, **auth)
admin.list_topics()
admin.close()
PY
  do
    if ! running; then echo "kafka: broker exited; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "kafka: not ready in time; see $LOG" >&2; exit 1; fi
    sleep 1
  done
}

stop() {
  if ! running; then rm -f "$PIDFILE"; echo "kafka: not running on $PORT"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PIDFILE"
  echo "kafka: stopped (port $PORT)"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  wait) wait_ready ;;
  acls) if [ "$SECURITY" = plaintext ]; then echo "kafka: acls needs KAFKA_SECURITY=sasl or sasl_ssl" >&2; exit 2; fi
    acls_py apply ;;
  status) if running && accepting; then echo "running"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 fetch|start|stop|status|wait|acls" >&2; exit 2 ;;
esac
