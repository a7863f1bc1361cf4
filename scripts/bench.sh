#!/usr/bin/env bash
# Builds and runs the benchmarks; each prints one JSON document on stdout.
# Run on an otherwise idle machine; quote medians and ratios from one run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
build/bench/bench_machine "$@"
