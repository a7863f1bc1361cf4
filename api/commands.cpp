#include "api/commands.h"

#include <array>
#include <cstdio>
#include <iostream>

#include "api/ask_command.h"
#include "api/embed_command.h"
#include "api/generate_command.h"
#include "api/index_commands.h"
#include "api/models_command.h"
#include "api/quantize_command.h"
#include "engine/core/cpu_features.h"

namespace quire::api {
namespace {

Status run_version_command(std::span<const std::string>) {
  std::cout << "quire " << QUIRE_VERSION << " (cpu: " << cpu_features().to_string() << ")\n";
  return ok_status();
}

const std::array<Command, 10> kCommands = {{
    {"index", "index PATH...", "index documents (PDF, txt, md, html) into --db", run_index_command},
    {"search", "search QUERY", "hybrid (dense + BM25) search of the index", run_search_command},
    {"ask", "ask QUESTION", "a cited answer from the indexed documents", run_ask_command},
    {"docs", "docs list|show ID|rm ID", "the indexed documents", run_docs_command},
    {"eval", "eval beir DIR", "retrieval quality on a BEIR dataset", run_eval_command},
    {"models", "models inspect FILE.gguf", "describe a GGUF model and the memory it needs",
     run_models_command},
    {"quantize", "quantize IN OUT TYPE", "convert a GGUF model to Q4_K_M, Q8_0, ...",
     run_quantize_command},
    {"embed", "embed --model M TEXT...", "sentence embeddings as JSON arrays", run_embed_command},
    {"generate", "generate --model M -p TEXT",
     "generate text with a decoder model (llama, qwen2, qwen3)", run_generate_command},
    {"version", "version", "print the version and the CPU features in use", run_version_command},
}};

}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string usage_text() {
  std::string out =
      "quire: local retrieval-augmented generation and embeddings over your documents\n"
      "\n"
      "usage: quire <command> [args] [--help]\n"
      "\n"
      "commands:\n";
  auto row = [&out](std::string_view usage, std::string_view summary) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-26.*s %.*s\n", static_cast<int>(usage.size()),
                  usage.data(), static_cast<int>(summary.size()), summary.data());
    out += line;
  };
  for (const Command& c : kCommands) row(c.usage, c.summary);
  row("help", "show this help");
  out +=
      "\n"
      "environment:\n"
      "  QUIRE_LOG=debug|info|warn|error   log level (default info)\n"
      "  QUIRE_CPU=generic                 force the scalar reference kernels\n"
      "  QUIRE_DB=DIR                      the index directory when --db is not given\n"
      "  QUIRE_EMBED_MODEL, QUIRE_LLM, QUIRE_RERANK_MODEL\n"
      "                                    models overriding the index's config.json\n";
  return out;
}

}  // namespace quire::api
