#include "api/embed_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/cli_args.h"
#include "engine/runtime/embedder.h"

namespace quire::api {

Status run_embed_command(std::span<const std::string> args) {
  std::string model, threads_text, file, max_tokens_text, batch_text;
  ArgParser parser("quire embed",
                   "Embeds texts with a GGUF embedding model (BERT family). Prints one JSON array\n"
                   "of floats per input on stdout, in input order; timings go to stderr.\n"
                   "Inputs: the TEXT arguments, or --file F with one text per line (- = stdin).");
  parser.add_option("model", &model, "M.gguf", "embedding model (required)");
  parser.add_option("file", &file, "F", "read texts from F, one per line (- for stdin)");
  parser.add_option("threads", &threads_text, "N", "threads (default: all CPUs)");
  parser.add_option("max-tokens", &max_tokens_text, "N",
                    "truncate each text to N tokens (default: the model's context)");
  parser.add_option("batch-tokens", &batch_text, "N", "tokens per forward pass (default 4096)");
  // Texts are everything that is not an option.
  std::vector<std::string> option_args, texts;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0 || a == "-h") {
      option_args.push_back(a);
      const bool takes_value = a.find('=') == std::string::npos && a != "--help" && a != "-h";
      if (takes_value && i + 1 < args.size()) option_args.push_back(args[++i]);
    } else {
      texts.push_back(a);
    }
  }
  QUIRE_RETURN_IF_ERROR(parser.parse(option_args));
  if (parser.help_requested()) {
    std::cout << parser.help() << "  TEXT...               texts to embed\n";
    return ok_status();
  }
  if (model.empty()) return invalid_argument_error("--model is required");
  if (!file.empty() && !texts.empty()) {
    return invalid_argument_error("give texts as arguments or with --file, not both");
  }
  engine::EmbedderOptions options;
  QUIRE_ASSIGN_OR_RETURN(options.threads, parse_threads(threads_text));
  if (!max_tokens_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(uint64_t n, parse_uint(max_tokens_text, "--max-tokens"));
    if (n < 2) return invalid_argument_error("--max-tokens: expected at least 2");
    options.max_tokens = static_cast<int64_t>(n);
  }
  if (!batch_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(uint64_t n, parse_uint(batch_text, "--batch-tokens"));
    if (n < 1) return invalid_argument_error("--batch-tokens: expected at least 1");
    options.max_batch_tokens = static_cast<int64_t>(n);
  }
  if (!file.empty()) {
    std::ifstream in_file;
    std::istream* in = &std::cin;
    if (file != "-") {
      in_file.open(file);
      if (!in_file) return not_found_error("cannot read '" + file + "'");
      in = &in_file;
    }
    std::string line;
    while (std::getline(*in, line)) texts.push_back(line);
  }
  if (texts.empty()) return invalid_argument_error("nothing to embed: give TEXT... or --file F");

  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<engine::Embedder> embedder,
                         engine::open_embedder(model, options));
  engine::EmbedStats stats;
  QUIRE_ASSIGN_OR_RETURN(auto vectors, embedder->embed(texts, &stats));
  for (const auto& v : vectors) std::cout << nlohmann::json(v).dump() << "\n";
  std::cout.flush();
  std::fprintf(
      stderr,
      "embedded %lld texts (%lld tokens, %lld truncated to %lld) in %.3f s: %.1f tokens/s, "
      "%.1f texts/s, dim %lld\n",
      static_cast<long long>(stats.texts), static_cast<long long>(stats.tokens),
      static_cast<long long>(stats.truncated), static_cast<long long>(embedder->max_tokens()),
      stats.seconds, stats.seconds > 0 ? static_cast<double>(stats.tokens) / stats.seconds : 0.0,
      stats.seconds > 0 ? static_cast<double>(stats.texts) / stats.seconds : 0.0,
      static_cast<long long>(embedder->dim()));
  return ok_status();
}

}  // namespace quire::api
