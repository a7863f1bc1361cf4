// The `quire` command line: dispatches to the subcommands.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "api/embed_command.h"
#include "api/generate_command.h"
#include "api/index_commands.h"
#include "api/models_command.h"
#include "api/quantize_command.h"
#include "engine/core/cpu_features.h"
#include "engine/core/log.h"
#include "engine/core/status.h"

namespace {

constexpr const char* kUsage =
    "quire: local retrieval-augmented generation and embeddings over your documents\n"
    "\n"
    "usage: quire <command> [args] [--help]\n"
    "\n"
    "commands:\n"
    "  index PATH...              index documents (PDF, txt, md, html) into --db\n"
    "  search QUERY               hybrid (dense + BM25) search of the index\n"
    "  docs list|show ID|rm ID    the indexed documents\n"
    "  eval beir DIR              retrieval quality on a BEIR dataset\n"
    "  models inspect FILE.gguf   describe a GGUF model and the memory it needs\n"
    "  quantize IN OUT TYPE       convert a GGUF model to Q4_K_M, Q8_0, ...\n"
    "  embed --model M TEXT...    sentence embeddings as JSON arrays\n"
    "  generate --model M -p TEXT generate text with a decoder model (llama, qwen2, qwen3)\n"
    "  version                    print the version and the CPU features in use\n"
    "  help                       show this help\n"
    "\n"
    "environment:\n"
    "  QUIRE_LOG=debug|info|warn|error   log level (default info)\n"
    "  QUIRE_CPU=generic                 force the scalar reference kernels\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? quire::exit_code(quire::StatusCode::kInvalidArgument) : 0;
  }
  const std::string command = args[0];
  std::span<const std::string> rest(args.data() + 1, args.size() - 1);

  quire::Status status;
  if (command == "version" || command == "--version") {
    std::cout << "quire " << QUIRE_VERSION << " (cpu: " << quire::cpu_features().to_string()
              << ")\n";
  } else if (command == "models") {
    status = quire::api::run_models_command(rest);
  } else if (command == "index") {
    status = quire::api::run_index_command(rest);
  } else if (command == "search") {
    status = quire::api::run_search_command(rest);
  } else if (command == "docs") {
    status = quire::api::run_docs_command(rest);
  } else if (command == "eval") {
    status = quire::api::run_eval_command(rest);
  } else if (command == "embed") {
    status = quire::api::run_embed_command(rest);
  } else if (command == "generate") {
    status = quire::api::run_generate_command(rest);
  } else if (command == "quantize") {
    status = quire::api::run_quantize_command(rest);
  } else {
    status = quire::invalid_argument_error("unknown command '" + command +
                                           "' (run 'quire help' for the list)");
  }
  if (!status.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "quire: error: %s\n", status.message().c_str());
    return quire::exit_code(status.code());
  }
  return 0;
}
