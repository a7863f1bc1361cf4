#include "api/models_command.h"

#include <cstdio>
#include <iostream>

#include "api/cli_args.h"
#include "engine/core/format.h"

namespace quire::api {
namespace {

using engine::gguf::Array;
using engine::gguf::GgufFile;
using engine::gguf::Value;
using engine::gguf::ValueType;
using nlohmann::ordered_json;

ordered_json scalar_json(const Value& value) {
  return std::visit(
      [](const auto& x) -> ordered_json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Array>) {
          return nullptr;  // arrays are described by type and length, not listed
        } else if constexpr (std::is_same_v<T, float>) {
          return static_cast<double>(x);
        } else {
          return x;
        }
      },
      value.v);
}

template <typename T>
void put_optional(ordered_json& j, const char* key, const std::optional<T>& value) {
  if (value) {
    j[key] = *value;
  } else {
    j[key] = nullptr;
  }
}

std::string or_dash(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : "-";
}

}  // namespace

ordered_json inspect_json(const GgufFile& file, const engine::ModelInfo& info,
                          const Result<engine::MemoryEstimate>& memory) {
  ordered_json j;
  j["file"] = file.source();
  j["size"] = file.file_size();
  j["gguf_version"] = file.version();
  j["alignment"] = file.alignment();
  j["tensor_data_start"] = file.data_offset();
  j["architecture"] = info.architecture;
  j["name"] = info.name;
  put_optional(j, "file_type", info.file_type);
  j["file_type_name"] = info.file_type_name;
  j["parameters"] = info.parameters;
  j["parameters_active"] = info.parameters_active;
  put_optional(j, "context_length", info.context_length);
  put_optional(j, "embedding_length", info.embedding_length);
  put_optional(j, "block_count", info.block_count);
  put_optional(j, "feed_forward_length", info.feed_forward_length);
  put_optional(j, "head_count", info.head_count);
  put_optional(j, "head_count_kv", info.head_count_kv);
  put_optional(j, "key_length", info.key_length);
  put_optional(j, "value_length", info.value_length);
  put_optional(j, "expert_count", info.expert_count);
  put_optional(j, "expert_used_count", info.expert_used_count);
  put_optional(j, "vocab_size", info.vocab_size);
  put_optional(j, "pooling_type", info.pooling_type);
  j["causal"] = info.causal;
  j["tokenizer_model"] = info.tokenizer_model;
  j["tokenizer_pre"] = info.tokenizer_pre;
  j["tokenizer_kind"] = info.tokenizer_kind;
  j["chat_template"] = info.has_chat_template;

  ordered_json types = ordered_json::object();
  for (const auto& s : info.tensor_types) {
    types[std::string(engine::ggml_type_name(s.type))] = {
        {"count", s.count}, {"elements", s.elements}, {"bytes", s.bytes}};
  }
  j["tensor_types"] = types;

  if (memory.ok()) {
    const auto& m = *memory;
    j["memory"] = {{"n_ctx", m.n_ctx},
                   {"kv_type", std::string(engine::kv_type_name(m.kv_type))},
                   {"weights_bytes", m.weights_bytes},
                   {"kv_cache_bytes", m.kv_cache_bytes},
                   {"scratch_bytes", m.scratch_bytes},
                   {"total_bytes", m.total_bytes}};
  } else {
    j["memory"] = {{"error", memory.status().message()}};
  }

  ordered_json metadata = ordered_json::object();
  ordered_json arrays = ordered_json::object();
  for (const auto& kv : file.metadata()) {
    if (const Array* a = kv.value.as_array()) {
      arrays[kv.key] = {{"type", std::string(engine::gguf::value_type_name(a->elem_type))},
                        {"length", a->size()}};
    } else {
      metadata[kv.key] = {{"type", std::string(engine::gguf::value_type_name(kv.value.type()))},
                          {"value", scalar_json(kv.value)}};
    }
  }
  j["metadata"] = metadata;
  j["arrays"] = arrays;

  ordered_json tensors = ordered_json::array();
  for (const auto& t : file.tensors()) {
    ordered_json ne = ordered_json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) ne.push_back(t.ne[d]);
    tensors.push_back({{"name", t.name},
                       {"type", std::string(engine::ggml_type_name(t.type))},
                       {"ne", ne},
                       {"n_bytes", t.n_bytes},
                       {"data_offset", t.file_offset}});
  }
  j["tensors"] = tensors;
  return j;
}

std::string inspect_text(const GgufFile& file, const engine::ModelInfo& info,
                         const Result<engine::MemoryEstimate>& memory) {
  std::string out;
  auto row = [&](const std::string& label, const std::string& value) {
    std::string line = "    " + label;
    line.resize(std::max<size_t>(line.size() + 2, 26), ' ');
    out += line + value + "\n";
  };
  out += "  File\n";
  row("path", file.source());
  row("format", "GGUF v" + std::to_string(file.version()) + ", " + format_bytes(file.file_size()) +
                    ", alignment " + std::to_string(file.alignment()));
  out += "\n  Model\n";
  row("architecture", info.architecture.empty() ? "-" : info.architecture);
  row("name", info.name.empty() ? "-" : info.name);
  std::string params = format_count(info.parameters) + " (" + format_grouped(info.parameters) + ")";
  if (info.parameters_active != info.parameters) {
    params += ", active per token " + format_count(info.parameters_active);
  }
  row("parameters", params);
  if (info.file_type) {
    row("file type", (info.file_type_name.empty() ? "unknown" : info.file_type_name) + " (" +
                         std::to_string(*info.file_type) + ")");
  } else {
    row("file type", "-");
  }
  row("context length", or_dash(info.context_length));
  row("embedding length", or_dash(info.embedding_length));
  row("block count", or_dash(info.block_count));
  row("feed forward length", or_dash(info.feed_forward_length));
  row("head count", or_dash(info.head_count));
  row("head count kv", or_dash(info.head_count_kv));
  if (info.expert_count) {
    row("experts",
        or_dash(info.expert_used_count) + " of " + or_dash(info.expert_count) + " per token");
  }
  row("vocab size", or_dash(info.vocab_size));
  std::string tokenizer = info.tokenizer_kind;
  if (!info.tokenizer_model.empty()) {
    tokenizer += " (" + info.tokenizer_model;
    if (!info.tokenizer_pre.empty()) tokenizer += ", pre " + info.tokenizer_pre;
    tokenizer += ")";
  }
  row("tokenizer", tokenizer);
  row("chat template", info.has_chat_template ? "yes" : "no");
  row("attention", info.causal ? "causal (decoder)" : "bidirectional (encoder)");

  out += "\n  Tensors (" + std::to_string(file.tensors().size()) + ")\n";
  for (const auto& s : info.tensor_types) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "    %-8s %5llu tensors  %12s  %5.1f%%\n",
                  std::string(engine::ggml_type_name(s.type)).c_str(),
                  static_cast<unsigned long long>(s.count), format_bytes(s.bytes).c_str(),
                  info.weights_bytes > 0 ? 100.0 * static_cast<double>(s.bytes) /
                                               static_cast<double>(info.weights_bytes)
                                         : 0.0);
    out += buf;
  }

  if (memory.ok()) {
    const auto& m = *memory;
    out += "\n  Memory at n_ctx " + std::to_string(m.n_ctx) + ", KV cache " +
           std::string(engine::kv_type_name(m.kv_type)) + "\n";
    row("weights (mmap)", format_bytes(m.weights_bytes));
    row("kv cache", info.causal ? format_bytes(m.kv_cache_bytes) : "0 B (encoder: none kept)");
    row("scratch (estimate)", format_bytes(m.scratch_bytes));
    row("total", format_bytes(m.total_bytes));
  } else {
    out += "\n  Memory\n";
    row("not available", memory.status().message());
  }
  return out;
}

Status run_models_command(std::span<const std::string> args) {
  const std::string usage =
      "usage: quire models inspect FILE.gguf [--json] [--ctx N] [--kv-type f16|q8_0|f32]\n";
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << usage
              << "\n  inspect   architecture, parameters, quantization, hyper-parameters,\n"
                 "            tokenizer, tensor types and the memory needed at a context length\n";
    return args.empty() ? invalid_argument_error("missing subcommand for 'quire models'")
                        : ok_status();
  }
  if (args[0] != "inspect") {
    return invalid_argument_error("unknown subcommand 'quire models " + args[0] + "'\n" + usage);
  }

  std::string path, ctx_text, kv_text = "f16";
  bool json = false;
  ArgParser parser(
      "quire models inspect",
      "Describes a GGUF model: architecture, parameters (total and active per token),\n"
      "file type and tensor types, hyper-parameters, tokenizer, chat template, and the\n"
      "memory needed to run it: weights + KV cache at --ctx + scratch = total.");
  parser.add_positional("FILE.gguf", &path, "a GGUF model (llama.cpp, Hugging Face, Ollama blob)");
  parser.add_flag("json", &json, "print one JSON object (keys use the GGUF names)");
  parser.add_option("ctx", &ctx_text, "N",
                    "context length for the memory math (default: the model's)");
  parser.add_option("kv-type", &kv_text, "TYPE", "KV cache type: f16 (default), q8_0 or f32");
  QUIRE_RETURN_IF_ERROR(parser.parse(args.subspan(1)));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  uint64_t n_ctx = 0;
  if (!ctx_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(n_ctx, parse_uint(ctx_text, "--ctx"));
    if (n_ctx == 0) return invalid_argument_error("--ctx: must be at least 1");
  }
  Result<engine::KvType> kv_type = engine::parse_kv_type(kv_text);
  if (!kv_type.ok()) {
    return invalid_argument_error("--kv-type: '" + kv_text + "', expected f16, q8_0 or f32");
  }

  QUIRE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  QUIRE_ASSIGN_OR_RETURN(engine::ModelInfo info, engine::describe_model(file));
  Result<engine::MemoryEstimate> memory = engine::estimate_memory(info, n_ctx, *kv_type);
  if (json) {
    std::cout << inspect_json(file, info, memory)
                     .dump(1, ' ', false, ordered_json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << inspect_text(file, info, memory);
  }
  return ok_status();
}

}  // namespace quire::api
