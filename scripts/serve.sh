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
index_args=()
[ -n "${EMBED_MODEL:-}" ] && index_args+=(--embed-model "$EMBED_MODEL")
[ -n "${QUIRE_DB:-}" ] && index_args+=(--db "$QUIRE_DB")
"$quire" index "$docs" "${index_args[@]}"

if "$quire" help | grep -q '^  serve'; then
  serve_args=(--port "${PORT:-8080}")
  [ -n "${LLM:-}" ] && serve_args+=(--llm "$LLM")
  exec "$quire" serve "${serve_args[@]}"
fi

# The HTTP server is not built yet: say how to query the index, and show a model.
echo "serve.sh: indexed '$docs'; the HTTP server is not built yet. Query with:"
echo "  build/quire search \"your question\"${QUIRE_DB:+ --db $QUIRE_DB}"
model="${MODEL:-${EMBED_MODEL:-}}"
if [ -z "$model" ]; then
  shared="${QUIRE_SHARED_DIR:-../shared}"
  for candidate in "$shared"/conformance/models/llama-tiny-q4_k_m.gguf "$shared"/conformance/models/*.gguf; do
    if [ -f "$candidate" ]; then model="$candidate"; break; fi
  done
fi
[ -n "$model" ] && exec "$quire" models inspect "$model"
exit 0
