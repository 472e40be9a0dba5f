#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for tests and
# benchmarks, run straight from the Maven Central jars: no Docker, no tarball.
#
#   scripts/kafka.sh fetch    download the broker jars into the cache (once)
#   scripts/kafka.sh up       start a broker on 127.0.0.1:$KAFKA_PORT and wait
#                             until it answers a metadata request (idempotent)
#   scripts/kafka.sh down     stop it and delete its data dir (idempotent)
#   scripts/kafka.sh status   exit 0 if the broker port answers, 1 otherwise
#
# A three-node cluster for the chaos tests (internal/chaos), beside the single
# broker and never touching its data: three combined KRaft nodes on
# 127.0.0.1:$KGEN_CLUSTER_PORT..+2 (controllers on $KGEN_CLUSTER_CONTROLLER_PORT..+2),
# replication 3, min.insync.replicas 2, no topic auto-creation.
#
#   scripts/kafka.sh cluster-up       start the three nodes (those not running) and
#                                     wait until each answers (idempotent)
#   scripts/kafka.sh cluster-down     stop every node and delete the cluster's data
#   scripts/kafka.sh cluster-status   one line per node; exit 0 if all three answer
#   scripts/kafka.sh node-kill N      SIGKILL node N (1-3); its data stays
#   scripts/kafka.sh node-stop N      SIGTERM node N (controlled shutdown), wait for it
#   scripts/kafka.sh node-start N     start node N on its data, wait until it answers
#   scripts/kafka.sh node-freeze N    SIGSTOP node N
#   scripts/kafka.sh node-thaw N      SIGCONT node N
#   scripts/kafka.sh node-pid N       print node N's pid (exit 1 if not running)
#
# Needs: bash, java 17+, mvn, go (for the readiness probe), flock, setsid.
#
# Environment (all optional):
#   KAFKA_PORT             broker port                     (9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port           (9093)
#   KGEN_KAFKA_DATA        data dir: config, logs, pid     (/tmp/kgen-kafka-$KAFKA_PORT)
#   KGEN_KAFKA_CACHE       jar cache                       ($HOME/.cache/kgen/kafka-4.1.1)
#   KAFKA_HEAP             JVM heap flags                  (-Xms128m -Xmx512m)
#   KAFKA_GC_OPTS          JVM GC/JIT flags                (-XX:+UseSerialGC -XX:TieredStopAtLevel=1)
#   KAFKA_READY_TIMEOUT    how long `up` waits, as a Go duration (90s)
#   KGEN_CLUSTER_PORT      first cluster broker port      (19092: 19092-19094)
#   KGEN_CLUSTER_CONTROLLER_PORT first controller port   (19192: 19192-19194)
#   KGEN_CLUSTER_DATA      cluster data dir               (/tmp/kgen-cluster-$KGEN_CLUSTER_PORT)
#   KGEN_CLUSTER_HEAP      JVM heap flags per node        (-Xms96m -Xmx400m)
set -euo pipefail

# Kafka 4.1.1 resolves from Maven Central (verified); 4.0.0 is the fallback
# should it ever stop doing so. Kafka 4.0/4.1 go with log4j 2.24.3 and stay on
# slf4j-api 1.7.x, hence log4j-slf4j-impl (not log4j-slf4j2-impl) as binding.
KAFKA_VERSION=4.1.1
LOG4J_VERSION=2.24.3
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-9093}
DATA=${KGEN_KAFKA_DATA:-/tmp/kgen-kafka-$PORT}
CACHE=${KGEN_KAFKA_CACHE:-$HOME/.cache/kgen/kafka-$KAFKA_VERSION}
LIBS=$CACHE/libs
FETCHED=$CACHE/.fetched
HEAP=${KAFKA_HEAP:--Xms128m -Xmx512m}
GC_OPTS=${KAFKA_GC_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90s}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIDFILE=$DATA/kafka.pid
LOGFILE=$DATA/kafka.log
MARKER=$DATA/.kgen-kafka # only dirs holding this file are ever deleted
# Serialises concurrent `up`/`down` calls for one port (go test runs test
# binaries of several packages in parallel, each may call `up`).
LOCKFILE=/tmp/kgen-kafka-$PORT.lock

log() { echo "kafka.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# broker_pid: the single broker's pid, if it is alive and ours.
broker_pid() { node_alive "$DATA"; }

# remove_data: deletes the data dir, but only if this script created it.
remove_data() {
  [[ -d $DATA ]] || return 0
  if [[ -f $MARKER ]]; then
    rm -rf -- "$DATA"
  elif [[ -z $(ls -A "$DATA") ]]; then
    rmdir -- "$DATA"
  else
    die "$DATA exists but was not created by kafka.sh (no $MARKER); not touching it"
  fi
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"
}

cmd_fetch() {
  if [[ -f $FETCHED ]]; then
    return 0
  fi
  need mvn "install Maven, e.g. apt-get install maven"
  need java "install Java 17+, e.g. apt-get install openjdk-17-jdk-headless"
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock 8
  if [[ -f $FETCHED ]]; then # another process fetched while we waited
    exec 8>&-
    return 0
  fi
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS ..."
  rm -rf -- "$LIBS"
  # Throw-away pom: kafka_2.13 brings the whole broker (server, raft, metadata,
  # storage, coordinators, clients, scala); log4j-slf4j-impl is the SLF4J 1.x
  # binding without which the broker logs nothing. kafka-tools is deliberately
  # absent (it drags in the Connect runtime).
  cat >"$CACHE/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kgen</groupId>
  <artifactId>kgen-kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  # The full plugin coordinates matter: Debian's Maven resolves the short
  # "dependency:" prefix to the ancient 2.8 plugin.
  # Output goes to a log, shown only on failure (Debian's Maven 3.8 also
  # prints stray colour escapes even in batch/quiet mode; strip them).
  if ! mvn -B -q -f "$CACHE/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$CACHE/mvn.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$CACHE/mvn.log" >&2
    die "maven could not fetch the Kafka $KAFKA_VERSION jars (see above; log: $CACHE/mvn.log)"
  fi
  ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
    die "kafka_2.13-$KAFKA_VERSION.jar missing from $LIBS after maven ran"
  date -u +%FT%TZ >"$FETCHED"
  exec 8>&- # releases the lock
  log "fetched $(find "$LIBS" -name "*.jar" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) into $LIBS"
}

# cluster_id: random 16-byte UUID in Kafka's 22-char base64url form. Like
# Kafka's Uuid.randomUuid, avoid a leading '-' (reads as a CLI flag).
cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#id} -eq 22 && $id != -* ]] && break
  done
  echo "$id"
}

# write_props DIR NODE VOTERS PORT CPORT DURABILITY: the server.properties of
# one combined KRaft node in DIR (logs in DIR/logs); DURABILITY holds the
# replication lines, which differ between the single broker and the cluster.
write_props() {
  local dir=$1 node=$2 voters=$3 port=$4 cport=$5 durability=$6
  mkdir -p "$dir/logs" "$dir/tmp"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka.sh: a combined KRaft node for tests.
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/logs

$durability

# Fast and light.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
group.coordinator.threads=1
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
# Must be > 1 MiB per cleaner thread; the default is 128 MiB of heap.
log.cleaner.dedupe.buffer.size=2097152
server.max.startup.time.ms=120000
EOF
}

# format_storage DIR ID LOG4J: formats DIR's storage for cluster ID.
format_storage() {
  if ! java -Dlog4j2.configurationFile="$3" -cp "$LIBS/*" \
    kafka.tools.StorageTool format --cluster-id="$2" \
    -c "$1/server.properties" >"$1/format.log" 2>&1; then
    cat "$1/format.log" >&2
    die "formatting the storage in $1/logs failed"
  fi
}

# launch DIR HEAP LOG4J: starts the node configured in DIR in the background
# (log appended to DIR/kafka.log, pid in DIR/kafka.pid) and prints its pid.
launch() {
  local dir=$1 heap=$2 log4j=$3 pid
  # shellcheck disable=SC2086 # heap and GC_OPTS are word lists on purpose
  setsid nohup java $heap $GC_OPTS \
    -Djava.awt.headless=true \
    -Djava.io.tmpdir="$dir/tmp" \
    -DZstdTempFolder="$dir/tmp" \
    -Dorg.xerial.snappy.tempdir="$dir/tmp" \
    -Dlog4j2.configurationFile="$log4j" \
    -Dkafka.logs.dir="$dir" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$dir/kafka.pid"
  echo "$pid"
}

# node_alive DIR: prints the pid in DIR/kafka.pid if that process is alive
# and is the broker of DIR's server.properties (guards against pid reuse).
node_alive() {
  local pid
  [[ -f $1/kafka.pid ]] || return 1
  pid=$(<"$1/kafka.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $1/server.properties" || return 1
  echo "$pid"
}

# write_log4j FILE: WARN everywhere, but keep the "Kafka Server started" line
# (INFO, logged by kafka.server.KafkaRaftServer).
write_log4j() {
  cat >"$1" <<EOF
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
EOF
}

show_log_tail() {
  if [[ -f $LOGFILE ]]; then
    log "last 50 lines of $LOGFILE:"
    tail -n 50 "$LOGFILE" >&2
  fi
}

cmd_up() {
  need java "install Java 17+, e.g. apt-get install openjdk-17-jdk-headless"
  need go "needed for the readiness probe scripts/kafkaready"
  need flock "util-linux"
  need setsid "util-linux"
  exec 9>"$LOCKFILE"
  flock 9

  if port_open "$PORT"; then
    echo "kafka already up on 127.0.0.1:$PORT"
    return 0
  fi

  local pid start
  start=$(date +%s)
  if pid=$(broker_pid); then
    # Started by someone else and still starting: just wait for it below.
    log "broker (pid $pid) is running but not answering yet; waiting for it"
  else
    if port_open "$CPORT"; then
      die "controller port 127.0.0.1:$CPORT is taken by another process; set KAFKA_CONTROLLER_PORT"
    fi
    cmd_fetch
    remove_data # a stale dir from a crashed run: start from scratch
    mkdir -p "$DATA"
    touch "$MARKER"
    write_props "$DATA" 1 "1@127.0.0.1:$CPORT" "$PORT" "$CPORT" "# A single broker: replication 1 everywhere, or groups/transactions hang.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1"
    write_log4j "$DATA/log4j2.properties"
    format_storage "$DATA" "$(cluster_id)" "$DATA/log4j2.properties"
    pid=$(launch "$DATA" "$HEAP" "$DATA/log4j2.properties")
    log "started broker pid $pid (log: $LOGFILE), waiting up to $READY_TIMEOUT for 127.0.0.1:$PORT"
  fi

  if ! (cd "$REPO_ROOT" && go run ./scripts/kafkaready \
    -addr "127.0.0.1:$PORT" -timeout "$READY_TIMEOUT" -pid "$pid" 9>&-); then
    show_log_tail
    die "broker did not become ready on 127.0.0.1:$PORT (stop it with: $0 down)"
  fi
  echo "kafka up on 127.0.0.1:$PORT (pid $pid, $(($(date +%s) - start))s, data $DATA)"
}

cmd_down() {
  exec 9>"$LOCKFILE"
  flock 9
  local pid i
  if pid=$(broker_pid); then
    log "stopping broker pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do # 20 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker still running after 20s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  elif port_open "$PORT"; then
    log "warning: 127.0.0.1:$PORT answers but no broker pid in $PIDFILE; not stopping it"
  fi
  remove_data
  echo "kafka down (127.0.0.1:$PORT)"
}

cmd_status() {
  if port_open "$PORT"; then
    local pid
    pid=$(broker_pid || echo "?")
    echo "kafka up on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  echo "kafka down (nothing on 127.0.0.1:$PORT)"
  return 1
}

# ---------------------------------------------------------------------------
# Three-node cluster (chaos tests). Everything lives under $CDATA, which is
# never the single broker's dir; nodes are node1..node3 in it.

CBASE=${KGEN_CLUSTER_PORT:-19092}
CCBASE=${KGEN_CLUSTER_CONTROLLER_PORT:-19192}
CDATA=${KGEN_CLUSTER_DATA:-/tmp/kgen-cluster-$CBASE}
CHEAP=${KGEN_CLUSTER_HEAP:--Xms96m -Xmx400m}
CMARKER=$CDATA/.kgen-cluster # only dirs holding this file are ever deleted
CLOCKFILE=/tmp/kgen-cluster-$CBASE.lock
NODES=(1 2 3)

node_port() { echo $((CBASE + $1 - 1)); }
node_cport() { echo $((CCBASE + $1 - 1)); }
node_dir() { echo "$CDATA/node$1"; }

check_node() {
  [[ ${1:-} =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"
}

# node_pid N: the pid of node N if it is alive and is our broker.
node_pid() { node_alive "$(node_dir "$1")"; }

# node_state N: up, frozen (stopped by SIGSTOP), starting, or down.
node_state() {
  local pid st
  if ! pid=$(node_pid "$1"); then
    echo down
    return
  fi
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo "?")
  if [[ $st == T ]]; then
    echo frozen
  elif port_open "$(node_port "$1")"; then
    echo up
  else
    echo starting
  fi
}

voters() {
  local v="" n
  for n in "${NODES[@]}"; do
    v+="${v:+,}$n@127.0.0.1:$(node_cport "$n")"
  done
  echo "$v"
}

write_node_config() {
  write_props "$(node_dir "$1")" "$1" "$(voters)" "$(node_port "$1")" "$(node_cport "$1")" "# A real cluster's durability: every topic on all three, writes need two.
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
auto.create.topics.enable=false
unclean.leader.election.enable=false
# Leaders move only when a test moves them (the periodic preferred-leader
# election would land at random moments in the tests).
auto.leader.rebalance.enable=false"
}

# start_node N: starts node N on its (formatted) data dir; does not wait.
start_node() {
  local n=$1 dir pid
  dir=$(node_dir "$n")
  if port_open "$(node_port "$n")" && ! node_pid "$n" >/dev/null; then
    die "127.0.0.1:$(node_port "$n") is taken by another process; set KGEN_CLUSTER_PORT"
  fi
  pid=$(launch "$dir" "$CHEAP" "$CDATA/log4j2.properties")
  log "started node $n pid $pid (127.0.0.1:$(node_port "$n"), log: $dir/kafka.log)"
}

# wait_node N: waits until node N answers a metadata request.
wait_node() {
  local n=$1 pid i
  # Right after start_node the pid may still be the forked shell that is
  # about to exec java: give it a moment to become the broker.
  for ((i = 0; i < 50; i++)); do
    pid=$(node_pid "$n") && break
    sleep 0.1
  done
  [[ -n $pid ]] || die "node $n is not running (log: $(node_dir "$n")/kafka.log)"
  if ! (cd "$REPO_ROOT" && go run ./scripts/kafkaready \
    -addr "127.0.0.1:$(node_port "$n")" -timeout "$READY_TIMEOUT" -pid "$pid" 9>&- >/dev/null); then
    log "last 30 lines of $(node_dir "$n")/kafka.log:"
    tail -n 30 "$(node_dir "$n")/kafka.log" >&2
    die "node $n did not become ready on 127.0.0.1:$(node_port "$n")"
  fi
}

cluster_lock() {
  exec 9>"$CLOCKFILE"
  flock 9
}

remove_cluster_data() {
  [[ -d $CDATA ]] || return 0
  if [[ -f $CMARKER ]]; then
    rm -rf -- "$CDATA"
  elif [[ -z $(ls -A "$CDATA") ]]; then
    rmdir -- "$CDATA"
  else
    die "$CDATA exists but was not created by kafka.sh (no $CMARKER); not touching it"
  fi
}

cmd_cluster_up() {
  need java "install Java 17+, e.g. apt-get install openjdk-17-jdk-headless"
  need go "needed for the readiness probe scripts/kafkaready"
  need flock "util-linux"
  need setsid "util-linux"
  [[ $CDATA != "$DATA" ]] || die "the cluster's data dir must not be the single broker's ($DATA)"
  cluster_lock
  local n start running=0
  start=$(date +%s)
  for n in "${NODES[@]}"; do
    if node_pid "$n" >/dev/null; then running=$((running + 1)); fi
  done
  if ((running == 0)); then
    # Nothing running: a fresh cluster (a stale dir from a crashed run goes).
    for n in "${NODES[@]}"; do
      port_open "$(node_port "$n")" && die "127.0.0.1:$(node_port "$n") is taken by another process; set KGEN_CLUSTER_PORT"
      port_open "$(node_cport "$n")" && die "127.0.0.1:$(node_cport "$n") is taken by another process; set KGEN_CLUSTER_CONTROLLER_PORT"
    done
    cmd_fetch
    remove_cluster_data
    mkdir -p "$CDATA"
    touch "$CMARKER"
    write_log4j "$CDATA/log4j2.properties"
    local id
    id=$(cluster_id)
    for n in "${NODES[@]}"; do
      write_node_config "$n"
      format_storage "$(node_dir "$n")" "$id" "$CDATA/log4j2.properties"
    done
  fi
  for n in "${NODES[@]}"; do
    case $(node_state "$n") in
    down) start_node "$n" ;;
    frozen) kill -CONT "$(node_pid "$n")" ;;
    esac
  done
  for n in "${NODES[@]}"; do wait_node "$n"; done
  echo "cluster up on 127.0.0.1:$(node_port 1),127.0.0.1:$(node_port 2),127.0.0.1:$(node_port 3) ($(($(date +%s) - start))s, data $CDATA)"
}

# stop_pid PID SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 secs=$2 i
  kill -CONT "$pid" 2>/dev/null || true # a frozen JVM cannot act on SIGTERM
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid still running after ${secs}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

cmd_cluster_down() {
  cluster_lock
  local n pid
  for n in "${NODES[@]}"; do
    if pid=$(node_pid "$n"); then
      kill -CONT "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for n in "${NODES[@]}"; do
    if pid=$(node_pid "$n"); then stop_pid "$pid" 10; fi
  done
  remove_cluster_data
  echo "cluster down"
}

cmd_cluster_status() {
  local n st ok=0
  for n in "${NODES[@]}"; do
    st=$(node_state "$n")
    echo "node $n: $st (127.0.0.1:$(node_port "$n"), pid $(node_pid "$n" || echo -))"
    [[ $st == up ]] || ok=1
  done
  return $ok
}

cmd_node() {
  local op=$1 n=$2 pid i
  check_node "$n"
  [[ -f $CMARKER ]] || die "no cluster in $CDATA (start it with: $0 cluster-up)"
  case $op in
  kill)
    pid=$(node_pid "$n") || die "node $n is not running"
    kill -KILL "$pid"
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    echo "node $n killed (pid $pid)"
    ;;
  stop)
    pid=$(node_pid "$n") || die "node $n is not running"
    stop_pid "$pid" 60
    echo "node $n stopped (pid $pid)"
    ;;
  start)
    cluster_lock
    if ! node_pid "$n" >/dev/null; then
      start_node "$n"
    fi
    wait_node "$n"
    echo "node $n up (pid $(node_pid "$n"))"
    ;;
  freeze)
    pid=$(node_pid "$n") || die "node $n is not running"
    kill -STOP "$pid"
    echo "node $n frozen (pid $pid)"
    ;;
  thaw)
    pid=$(node_pid "$n") || die "node $n is not running"
    kill -CONT "$pid"
    echo "node $n thawed (pid $pid)"
    ;;
  pid)
    node_pid "$n"
    ;;
  esac
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
fetch) cmd_fetch ;;
cluster-up) cmd_cluster_up ;;
cluster-down) cmd_cluster_down ;;
cluster-status) cmd_cluster_status ;;
node-kill | node-stop | node-start | node-freeze | node-thaw | node-pid)
  cmd_node "${1#node-}" "${2:-}"
  ;;
*)
  echo "usage: $0 up|down|status|fetch|cluster-up|cluster-down|cluster-status|node-kill|node-stop|node-start|node-freeze|node-thaw|node-pid [N]" >&2
  exit 2
  ;;
esac
