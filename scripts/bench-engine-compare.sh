#!/usr/bin/env bash
# Compares the hot path's micro-benchmarks (-benchmem: the engine, the
# producer's record encoding, the fetcher's batch decoding) of a
# base commit with the working tree, with benchstat. The two test binaries
# are built first and then run alternately, COUNT times each, so that the
# noise of a shared machine falls on both alike.
#
#   scripts/bench-engine-compare.sh [BASE]     BASE: a commit, default HEAD~1
#   COUNT=10 BENCH=BenchmarkEngine scripts/bench-engine-compare.sh f5a9a8b
# A benchmark missing from BASE simply shows no base column.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD~1}
count=${COUNT:-10}
bench=${BENCH:-BenchmarkEngine|BenchmarkRecordBatchAdd|BenchmarkBatchDecoder}
go=${GO:-go}

tmp=$(mktemp -d)
cleanup() {
	git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

git worktree add --detach "$tmp/base" "$base" >/dev/null
(cd "$tmp/base" && $go test -c -o "$tmp/old.test" ./runtime/)
$go test -c -o "$tmp/new.test" ./runtime/

# Test binaries run in their package directory (testdata, golden files).
for i in $(seq "$count"); do
	(cd "$tmp/base/runtime" && "$tmp/old.test" -test.run '^$' -test.bench "^($bench)\$" -test.benchmem -test.count 1) >>"$tmp/old.txt"
	(cd runtime && "$tmp/new.test" -test.run '^$' -test.bench "^($bench)\$" -test.benchmem -test.count 1) >>"$tmp/new.txt"
	printf '.' >&2
done
echo >&2
echo "base: $(git rev-parse --short "$base") ($base); new: working tree at $(git rev-parse --short HEAD)"
(cd bench && $go tool benchstat base="$tmp/old.txt" new="$tmp/new.txt")
