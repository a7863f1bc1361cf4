#include "api/generate_command.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "api/cli_args.h"
#include "engine/core/format.h"
#include "engine/core/log.h"
#include "engine/runtime/chat_prompt.h"
#include "engine/runtime/generator.h"

namespace quire::api {
namespace {

// -p/-n short forms of the options, as llama.cpp spells them.
std::vector<std::string> expand_short_options(std::span<const std::string> args) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    if (a == "-p") {
      out.push_back("--prompt");
    } else if (a == "-n") {
      out.push_back("--n-predict");
    } else if (a == "-m") {
      out.push_back("--model");
    } else if (a == "-t") {
      out.push_back("--threads");
    } else if (a == "-c") {
      out.push_back("--ctx");
    } else {
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace

Status run_generate_command(std::span<const std::string> raw_args) {
  std::string model_path, prompt, system,
      n_text = "256", temp_text = "0.8", top_k_text = "40", top_p_text = "0.95",
      min_p_text = "0.05", seed_text, repeat_text = "1.0", kv_text = "f16", ctx_text, threads_text,
      template_name;
  bool chat = false, json_out = false, verbose = false, ignore_eos = false;
  ArgParser parser(
      "quire generate",
      "Generates text with a GGUF decoder model (llama, qwen2, qwen3), streaming it to stdout.\n"
      "--verbose prints prefill and decode timings to stderr; --json prints one object at the "
      "end.");
  parser.add_option("model", &model_path, "M.gguf", "the model (required; -m)");
  parser.add_option("prompt", &prompt, "TEXT", "the prompt (required; -p)");
  parser.add_flag("chat", &chat, "format the prompt as a user turn with the model's chat template");
  parser.add_option("system", &system, "TEXT", "system message (with --chat)");
  parser.add_option("chat-template", &template_name, "NAME",
                    "use a built-in chat template style (chatml, llama3, mistral-v3-tekken, gemma, "
                    "phi3, zephyr, ...) instead of the model's");
  parser.add_option("n-predict", &n_text, "N", "tokens to generate at most (default 256; -n)");
  parser.add_option("temp", &temp_text, "T", "temperature (default 0.8; 0 = greedy)");
  parser.add_option("top-k", &top_k_text, "K", "top-k (default 40; 0 = off)");
  parser.add_option("top-p", &top_p_text, "P", "top-p (default 0.95; 1 = off)");
  parser.add_option("min-p", &min_p_text, "P", "min-p (default 0.05; 0 = off)");
  parser.add_option("repeat-penalty", &repeat_text, "R", "repetition penalty (default 1 = off)");
  parser.add_option("seed", &seed_text, "S", "random seed (default: from the clock)");
  parser.add_option("kv-type", &kv_text, "f16|q8_0|f32", "KV cache type (default f16)");
  parser.add_option("ctx", &ctx_text, "N", "context length (default: the model's, at most 4096)");
  parser.add_option("threads", &threads_text, "N", "threads (default: all CPUs; -t)");
  parser.add_flag("ignore-eos", &ignore_eos, "keep generating past end-of-generation tokens");
  parser.add_flag("json", &json_out, "print one JSON object at the end instead of streaming");
  parser.add_flag("verbose", &verbose, "print timings and memory to stderr");
  const std::vector<std::string> args = expand_short_options(raw_args);
  QUIRE_RETURN_IF_ERROR(parser.parse(args));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  if (model_path.empty()) return invalid_argument_error("--model is required");
  if (prompt.empty()) return invalid_argument_error("--prompt (-p) is required");

  engine::GenerationRequest request;
  QUIRE_ASSIGN_OR_RETURN(request.max_tokens, parse_int(n_text, "-n"));
  if (request.max_tokens == 0 || request.max_tokens < -1) {
    return invalid_argument_error("-n " + n_text +
                                  ": nothing to generate (give at least 1, or -1 to generate "
                                  "until the end of the answer or of the context)");
  }
  engine::SamplingParams& sp = request.sampling;
  QUIRE_ASSIGN_OR_RETURN(const double temp, parse_double(temp_text, "--temp"));
  QUIRE_ASSIGN_OR_RETURN(const uint64_t top_k, parse_uint(top_k_text, "--top-k"));
  QUIRE_ASSIGN_OR_RETURN(const double top_p, parse_double(top_p_text, "--top-p"));
  QUIRE_ASSIGN_OR_RETURN(const double min_p, parse_double(min_p_text, "--min-p"));
  QUIRE_ASSIGN_OR_RETURN(const double repeat, parse_double(repeat_text, "--repeat-penalty"));
  sp.temperature = static_cast<float>(temp);
  sp.top_k = static_cast<int32_t>(std::min<uint64_t>(top_k, 1u << 30));
  sp.top_p = static_cast<float>(top_p);
  sp.min_p = static_cast<float>(min_p);
  sp.repeat_penalty = static_cast<float>(repeat);
  if (!seed_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(sp.seed, parse_uint(seed_text, "--seed"));
  } else {
    sp.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
              std::random_device{}();
  }
  QUIRE_RETURN_IF_ERROR(engine::validate_sampling_params(sp));
  request.ignore_eos = ignore_eos;

  engine::GeneratorOptions options;
  QUIRE_ASSIGN_OR_RETURN(options.kv_type, engine::parse_kv_type(kv_text));
  QUIRE_ASSIGN_OR_RETURN(options.n_ctx, parse_ctx(ctx_text));
  QUIRE_ASSIGN_OR_RETURN(options.threads, parse_threads(threads_text));
  options.cached_sequences = 0;

  const auto t_load = std::chrono::steady_clock::now();
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<engine::LanguageModel> lm,
                         engine::LanguageModel::open(model_path));

  engine::ChatPrompt built;
  if (chat || !template_name.empty() || !system.empty()) {
    std::vector<engine::ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    messages.push_back({"user", prompt});
    engine::ChatPromptOptions prompt_options;
    prompt_options.template_name = template_name;
    QUIRE_ASSIGN_OR_RETURN(built, engine::build_chat_prompt(*lm, messages, prompt_options));
  } else {
    built = engine::build_plain_prompt(*lm, prompt);
  }
  request.prompt = std::move(built.tokens);
  request.stop = std::move(built.stop);
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<engine::Generator> gen,
                         engine::Generator::create(*lm, options));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  auto stream = [&](std::string_view piece) {
    if (!json_out) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  QUIRE_ASSIGN_OR_RETURN(engine::GenerationResult r, gen->generate(request, stream));
  if (!json_out) std::fputs("\n", stdout);

  const uint64_t kv_bytes =
      gen->cache().bytes_per_position() * static_cast<uint64_t>(r.prompt_tokens + r.decode_steps);
  if (json_out) {
    nlohmann::json j = {{"model", lm->name()},
                        {"text", r.text},
                        {"token_ids", r.tokens},
                        {"prompt_tokens", r.prompt_tokens},
                        {"prefill_s", r.prefill_s},
                        {"prefill_tok_s", r.prefill_tok_s()},
                        {"generated_tokens", r.generated_tokens},
                        {"decode_s", r.decode_s},
                        {"decode_tok_s", r.decode_tok_s()},
                        {"finish_reason", r.finish_reason},
                        {"seed", sp.seed},
                        {"kv_type", std::string(engine::kv_type_name(options.kv_type))},
                        {"n_ctx", gen->n_ctx()},
                        {"weights_bytes", lm->weight_bytes()},
                        {"kv_bytes", kv_bytes}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  if (verbose) {
    std::fprintf(stderr,
                 "load duration:        %.3f s\n"
                 "prompt eval count:    %lld token(s)\n"
                 "prompt eval duration: %.3f s\n"
                 "prompt eval rate:     %.2f tokens/s\n"
                 "eval count:           %lld token(s)\n"
                 "eval duration:        %.3f s\n"
                 "eval rate:            %.2f tokens/s\n"
                 "finish reason:        %s\n"
                 "memory:               weights %s (mapped), KV cache %s (%s, %lld of %lld "
                 "positions)\n"
                 "seed:                 %llu\n",
                 load_s, static_cast<long long>(r.prompt_tokens), r.prefill_s, r.prefill_tok_s(),
                 static_cast<long long>(r.generated_tokens), r.decode_s, r.decode_tok_s(),
                 r.finish_reason.c_str(), format_bytes(lm->weight_bytes()).c_str(),
                 format_bytes(kv_bytes).c_str(),
                 std::string(engine::kv_type_name(options.kv_type)).c_str(),
                 static_cast<long long>(r.prompt_tokens + r.decode_steps),
                 static_cast<long long>(gen->n_ctx()), static_cast<unsigned long long>(sp.seed));
  }
  return ok_status();
}

}  // namespace quire::api
