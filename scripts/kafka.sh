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

# broker_pid: prints the pid from the pid file if that process is alive and is
# our broker (guards against pid reuse); fails otherwise.
broker_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

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

write_config() {
  cat >"$DATA/server.properties" <<EOF
# Written by scripts/kafka.sh: one combined KRaft node for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/logs

# A single broker: replication 1 everywhere, or groups/transactions hang.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Fast and light.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
group.coordinator.threads=1
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
# Must be > 1 MiB per cleaner thread; the default is 128 MiB of heap.
log.cleaner.dedupe.buffer.size=2097152
server.max.startup.time.ms=120000
EOF

  # WARN everywhere, but keep the "Kafka Server started" line (INFO, logged
  # by kafka.server.KafkaRaftServer).
  cat >"$DATA/log4j2.properties" <<EOF
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
    mkdir -p "$DATA/logs" "$DATA/tmp"
    touch "$MARKER"
    write_config

    local cp id
    cp="$LIBS/*" # the JVM expands a trailing /* to every jar in the dir
    id=$(cluster_id)
    if ! java -Dlog4j2.configurationFile="$DATA/log4j2.properties" -cp "$cp" \
      kafka.tools.StorageTool format --cluster-id="$id" \
      -c "$DATA/server.properties" >"$DATA/format.log" 2>&1; then
      cat "$DATA/format.log" >&2
      die "formatting the storage in $DATA/logs failed"
    fi

    # shellcheck disable=SC2086 # HEAP and GC_OPTS are word lists on purpose
    setsid nohup java $HEAP $GC_OPTS \
      -Djava.awt.headless=true \
      -Djava.io.tmpdir="$DATA/tmp" \
      -DZstdTempFolder="$DATA/tmp" \
      -Dorg.xerial.snappy.tempdir="$DATA/tmp" \
      -Dlog4j2.configurationFile="$DATA/log4j2.properties" \
      -Dkafka.logs.dir="$DATA" \
      -cp "$cp" kafka.Kafka "$DATA/server.properties" \
      >"$LOGFILE" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
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

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
fetch) cmd_fetch ;;
*)
  echo "usage: $0 up|down|status|fetch" >&2
  exit 2
  ;;
esac
