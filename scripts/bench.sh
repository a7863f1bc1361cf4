#!/usr/bin/env bash
# Builds and runs the benchmarks; each prints one JSON document on stdout (bench_query: one JSON
# object per line).
# Run on an otherwise idle machine; quote medians and ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
case "${1:-all}" in
  machine) shift; build/bench/bench_machine "$@" ;;
  kernels) shift; build/bench/bench_kernels "$@" ;;
  embed) shift; build/bench/bench_embed "$@" ;;
  ingest) shift; build/bench/bench_ingest "$@" ;;
  generate) shift; build/bench/bench_generate "$@" ;;
  query) shift; build/bench/bench_query "$@" ;;
  all)
    build/bench/bench_machine
    build/bench/bench_kernels --threads 2
    build/bench/bench_embed --threads 2
    build/bench/bench_ingest --threads 2
    build/bench/bench_generate --threads 2
    build/bench/bench_query
    ;;
  *) echo "usage: scripts/bench.sh [machine|kernels|embed|ingest|generate|query|all] [args]" >&2; exit 2 ;;
esac
