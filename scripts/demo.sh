#!/usr/bin/env bash
# The main job, end to end: start a Kafka broker, scaffold a processor from
# examples/quickstart.json with kgen, build it, feed it sample records, and
# show its output (Kafka topic and stdout), metrics, readiness and a
# graceful shutdown. Needs only Go, Java 17+ and Maven on the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KGEN=${KGEN:-$ROOT/bin/kgen}
[[ -x $KGEN ]] || make build
RUN=$(date +%s)-$$
export DEMO_IN=quickstart-in-$RUN DEMO_OUT=quickstart-out-$RUN DEMO_DLQ=quickstart-dlq-$RUN
WORK=${KGEN_DEMO_DIR:-$(mktemp -d)}
PROJ=$WORK/quickstart
client() { go run ./scripts/democlient "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 Kafka broker (single node, KRaft, from Maven Central jars)"
bash scripts/kafka.sh up

step "2/6 kgen init: scaffold a processor from examples/quickstart.json"
"$KGEN" init --settings examples/quickstart.json --out "$PROJ" --module example.com/quickstart

step "3/6 go build (process.go as scaffolded: forwards each record unchanged)"
(cd "$PROJ" && go build -o quickstart . && go test ./... && ./quickstart --version)

step "4/6 kgen topics create (inbound, outbound, dead-letter) and 10 sample records"
"$KGEN" topics create examples/quickstart.json --partitions 3
for i in $(seq 1 10); do printf 'article-%d\t{"id":%d,"title":"hello %d"}\n' $((i % 3)) "$i" "$i"; done |
  client produce -topic "$DEMO_IN"

step "5/6 run the processor"
(cd "$PROJ" && exec ./quickstart --settings settings.json) >"$WORK/stdout.log" 2>"$WORK/processor.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
echo "processor pid $PID; output topic $DEMO_OUT:"
client read -topic "$DEMO_OUT" -n 10 -timeout 90s
echo "the first 3 output records with kgen topics read (partition, offset, time, key, headers, value):"
"$KGEN" topics read examples/quickstart.json --topic "$DEMO_OUT" -n 3
echo "stdout outbound client (json):"
for _ in $(seq 1 50); do [[ $(wc -l <"$WORK/stdout.log") -ge 10 ]] && break; sleep 0.2; done
head -n 10 "$WORK/stdout.log"

step "6/6 metrics, readiness, graceful shutdown"
client get http://127.0.0.1:9464/readyz
client get http://127.0.0.1:9464/metrics | grep -E '^kgen_(records_(consumed|processed)_total|outbound_records_total|consumer_lag_records|build_info)'
kill -TERM $PID
wait $PID
trap - EXIT
echo "processor exited with status 0; its log:"
grep -E 'msg="?(starting|partitions assigned|shutting down|stopped cleanly)' "$WORK/processor.log" | cut -c1-200
printf '\nDone. The project is in %s\n' "$PROJ"
