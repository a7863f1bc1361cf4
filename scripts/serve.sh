#!/usr/bin/env bash
# The main job: install dependencies, build, index a folder of documents and serve the HTTP API.
#   scripts/serve.sh [DOCS_DIR]        (default: the project's own docs/)
# Environment: EMBED_MODEL=path.gguf (embeddings; BM25-only without), LLM=path.gguf (answers;
# extractive without), PORT (default 8080), MODEL=path.gguf (model shown while serving is not built).
set -euo pipefail
cd "$(dirname "$0")/.."
docs="${1:-${DOCS:-docs}}"
scripts/install-deps.sh
scripts/build.sh

quire=build/quire
if "$quire" help | grep -q '^  serve'; then
  index_args=()
  [ -n "${EMBED_MODEL:-}" ] && index_args+=(--embed-model "$EMBED_MODEL")
  "$quire" index "$docs" "${index_args[@]}"
  serve_args=(--port "${PORT:-8080}")
  [ -n "${LLM:-}" ] && serve_args+=(--llm "$LLM")
  exec "$quire" serve "${serve_args[@]}"
fi

# Indexing and the HTTP server are not built yet: show what the engine can already do.
echo "serve.sh: 'quire index' and 'quire serve' are not built yet; would index '$docs'."
model="${MODEL:-}"
if [ -z "$model" ]; then
  shared="${QUIRE_SHARED_DIR:-../shared}"
  for candidate in "$shared"/conformance/models/llama-tiny-q4_k_m.gguf "$shared"/conformance/models/*.gguf; do
    if [ -f "$candidate" ]; then model="$candidate"; break; fi
  done
fi
if [ -z "$model" ]; then
  echo "serve.sh: no model to inspect; run with MODEL=/path/to/model.gguf" >&2
  exit 0
fi
exec "$quire" models inspect "$model"
