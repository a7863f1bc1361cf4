#include "engine/model/quantize_model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "engine/core/timer.h"
#include "engine/gguf/gguf_names.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/quant/quant_traits.h"

namespace quire::engine {
namespace {

using gguf::LlmTensor;

// llama_ftype ids of the schemes (llama.h).
constexpr std::array<QuantScheme, 12> kSchemes = {{
    {"F16", 1, GgmlType::F16},
    {"Q4_0", 2, GgmlType::Q4_0},
    {"Q4_1", 3, GgmlType::Q4_1},
    {"Q8_0", 7, GgmlType::Q8_0},
    {"Q5_0", 8, GgmlType::Q5_0},
    {"Q5_1", 9, GgmlType::Q5_1},
    {"Q2_K", 10, GgmlType::Q2_K},
    {"Q3_K_M", 12, GgmlType::Q3_K},
    {"Q4_K_S", 14, GgmlType::Q4_K},
    {"Q4_K_M", 15, GgmlType::Q4_K},
    {"Q5_K_M", 17, GgmlType::Q5_K},
    {"Q6_K", 18, GgmlType::Q6_K},
}};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// "<base>.weight": a global tensor's name, or a per-block one's inside its block.
std::string weight_name(LlmTensor tensor) {
  return gguf::tensor_name(tensor, "weight");
}

// The layers that get more bits in the _M mixtures: the first and last eighth, and every third
// layer in between. Integer arithmetic, as llama.cpp.
bool use_more_bits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// K-quants need rows that are whole 256-weight super-blocks.
GgmlType fallback_for_row(GgmlType t) {
  switch (t) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
      return GgmlType::Q4_0;
    case GgmlType::Q4_K:
      return GgmlType::Q5_0;
    case GgmlType::Q5_K:
      return GgmlType::Q5_1;
    case GgmlType::Q6_K:
      return GgmlType::Q8_0;
    default:
      return t;
  }
}

}  // namespace

std::span<const QuantScheme> quant_schemes() {
  return kSchemes;
}

std::optional<QuantScheme> quant_scheme_from_name(std::string_view name) {
  std::string upper;
  for (char c : name)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (const auto& s : kSchemes) {
    if (s.name == upper) return s;
  }
  return std::nullopt;
}

bool should_quantize(std::string_view name, int n_dims) {
  if (n_dims < 2 || !ends_with(name, ".weight")) return false;
  if (contains(name, "_norm.weight")) return false;
  if (name == weight_name(LlmTensor::kPosEmbd) || name == weight_name(LlmTensor::kTokenTypes)) {
    return false;
  }
  // MoE router: small and sensitive.
  if (contains(name, weight_name(LlmTensor::kFfnGateInp))) return false;
  return true;
}

GgmlType choose_tensor_type(const QuantScheme& scheme, const QuantModelFacts& facts,
                            std::string_view name, int64_t ne0) {
  const GgmlType base = scheme.base;
  const std::string_view s = scheme.name;
  if (base == GgmlType::F16) return GgmlType::F16;  // mixtures apply to quantized schemes only

  const bool is_output = name == weight_name(LlmTensor::kOutput) ||
                         (!facts.has_output && name == weight_name(LlmTensor::kTokenEmbd));
  GgmlType t = base;
  if (is_output) {
    if (ne0 % 256 != 0) return GgmlType::Q8_0;
    return base == GgmlType::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q6_K;
  }
  const int64_t i = gguf::tensor_block(name);
  const int64_t n = facts.n_layer;
  if (contains(name, weight_name(LlmTensor::kAttnV))) {
    if (s == "Q2_K") {
      t = facts.n_gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    } else if (s == "Q3_K_M") {
      t = i < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    } else if ((s == "Q4_K_M" || s == "Q5_K_M") && use_more_bits(i, n)) {
      t = GgmlType::Q6_K;
    } else if (s == "Q4_K_S" && i < 4) {
      t = GgmlType::Q5_K;
    }
  } else if (contains(name, gguf::tensor_base_name(LlmTensor::kFfnDown))) {
    if (s == "Q2_K") {
      t = GgmlType::Q3_K;
    } else if (s == "Q3_K_M") {
      t = i < n / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    } else if ((s == "Q4_K_M" || s == "Q5_K_M") && use_more_bits(i, n)) {
      t = GgmlType::Q6_K;
    } else if (s == "Q4_K_S" && i < n / 8) {
      t = GgmlType::Q5_K;
    }
  } else if (contains(name, weight_name(LlmTensor::kAttnOut))) {
    if (s == "Q2_K") {
      t = GgmlType::Q3_K;
    } else if (s == "Q3_K_M") {
      t = GgmlType::Q4_K;
    }
  } else if (contains(name, weight_name(LlmTensor::kAttnQkv))) {
    if (s == "Q3_K_M") {
      t = GgmlType::Q4_K;
    } else if (s == "Q4_K_M") {
      t = GgmlType::Q5_K;
    } else if (s == "Q5_K_M") {
      t = GgmlType::Q6_K;
    }
  }
  if (ne0 % 256 != 0) t = fallback_for_row(t);
  return t;
}

Result<QuantizeReport> quantize_model(
    const gguf::GgufFile& in, const std::string& out_path, const QuantScheme& scheme,
    ThreadPool& pool, const std::function<void(const QuantizedTensorReport&)>& progress) {
  Timer timer;
  QuantModelFacts facts;
  facts.architecture = in.architecture();
  const auto key = [&](gguf::ArchKv k) { return gguf::arch_kv(facts.architecture, k); };
  facts.n_layer = static_cast<int64_t>(in.get_uint(key(gguf::ArchKv::kBlockCount)).value_or(0));
  const uint64_t n_head = in.get_uint(key(gguf::ArchKv::kAttentionHeadCount)).value_or(1);
  const uint64_t n_head_kv = in.get_uint(key(gguf::ArchKv::kAttentionHeadCountKv)).value_or(n_head);
  facts.n_gqa = n_head_kv > 0 ? static_cast<int64_t>(n_head / n_head_kv) : 1;
  facts.has_output = in.find_tensor(weight_name(LlmTensor::kOutput)) != nullptr;

  gguf::GgufWriter writer;
  for (const auto& kv : in.metadata()) writer.set(kv.key, kv.value);
  // Appended last, in llama-quantize's order, so headers come out byte-identical to its files.
  writer.remove(gguf::kKvGeneralQuantizationVersion);
  writer.remove(gguf::kKvGeneralFileType);
  writer.set(gguf::kKvGeneralQuantizationVersion, uint32_t{2});
  writer.set(gguf::kKvGeneralFileType, scheme.file_type);

  // llama-quantize writes tensors ordered by layer (non-layer tensors first) and then by name;
  // doing the same makes our headers byte-identical to its files.
  std::vector<const gguf::TensorInfo*> order;
  for (const auto& t : in.tensors()) order.push_back(&t);
  std::stable_sort(
      order.begin(), order.end(), [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) {
        const int64_t la = gguf::tensor_block(a->name), lb = gguf::tensor_block(b->name);
        return la != lb ? la < lb : a->name < b->name;
      });

  QuantizeReport report;
  for (const gguf::TensorInfo* tp : order) {
    const gguf::TensorInfo& t = *tp;
    GgmlType to = t.type;
    if (should_quantize(t.name, static_cast<int>(t.n_dims))) {
      to = choose_tensor_type(scheme, facts, t.name, t.ne[0]);
    }
    const QuantTraits* to_traits = quant_traits(to);
    const DequantizeRowFn from_dequantize = dequantizer(t.type);
    if (to != t.type && (to_traits == nullptr || from_dequantize == nullptr)) {
      return unimplemented_error("tensor '" + t.name + "': cannot convert " +
                                 std::string(ggml_type_name(t.type)) + " to " +
                                 std::string(ggml_type_name(to)));
    }
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    QuantizedTensorReport row{t.name, t.shape_string(), t.type, to, t.n_bytes, 0};
    row.bytes_out = ggml_row_size(to, static_cast<uint64_t>(t.ne[0])) *
                    (t.n_elements / std::max<uint64_t>(1, static_cast<uint64_t>(t.ne[0])));
    if (to == t.type) {
      QUIRE_RETURN_IF_ERROR(writer.add_tensor_view(t.name, t.type, ne, {t.data, t.n_bytes}));
    } else {
      const gguf::TensorInfo* src = &t;
      QUIRE_RETURN_IF_ERROR(writer.add_tensor_generated(
          t.name, to, ne,
          [src, to_traits, from_dequantize, &pool, &progress, row](std::span<uint8_t> out) {
            const int64_t n_per_row = src->ne[0];
            const int64_t n_rows =
                n_per_row > 0 ? static_cast<int64_t>(src->n_elements) / n_per_row : 0;
            const size_t in_row = ggml_row_size(src->type, static_cast<uint64_t>(n_per_row));
            const size_t out_row = ggml_row_size(to_traits->type, static_cast<uint64_t>(n_per_row));
            std::vector<std::vector<float>> rows(
                static_cast<size_t>(pool.size()),
                std::vector<float>(static_cast<size_t>(n_per_row)));
            pool.parallel_for(static_cast<size_t>(n_rows), 16, [&](size_t b, size_t e, int w) {
              float* f = rows[static_cast<size_t>(w)].data();
              for (size_t r = b; r < e; ++r) {
                from_dequantize(src->data + r * in_row, f, n_per_row);
                to_traits->quantize(f, out.data() + r * out_row, n_per_row);
              }
            });
            if (progress) progress(row);
            return ok_status();
          }));
    }
    report.bytes_in += row.bytes_in;
    report.bytes_out += row.bytes_out;
    report.tensors.push_back(std::move(row));
  }
  QUIRE_RETURN_IF_ERROR(writer.write_file(out_path).with_context("writing '" + out_path + "'"));
  report.seconds = timer.elapsed_s();
  return report;
}

}  // namespace quire::engine
