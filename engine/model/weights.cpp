#include "engine/model/weights.h"

#include "engine/quant/quant_traits.h"

namespace quire::engine {
namespace {

std::string shape_text(std::initializer_list<int64_t> shape) {
  std::string out = "[";
  bool first = true;
  for (int64_t d : shape) {
    if (!first) out += ", ";
    out += std::to_string(d);
    first = false;
  }
  return out + "]";
}

}  // namespace

Result<const gguf::TensorInfo*> WeightLoader::tensor(const std::string& name,
                                                     std::initializer_list<int64_t> shape) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) return not_found_error("tensor '" + name + "' is missing");
  bool match = t->n_dims == shape.size();
  size_t d = 0;
  for (int64_t want : shape) match = match && t->ne[d++] == want;
  if (!match) {
    return failed_precondition_error("tensor '" + name + "': shape " + t->shape_string() +
                                     ", expected " + shape_text(shape));
  }
  return t;
}

Result<WeightMatrix> WeightLoader::matrix(const std::string& name, int64_t n_in,
                                          int64_t n_out) const {
  QUIRE_ASSIGN_OR_RETURN(const gguf::TensorInfo* t, tensor(name, {n_in, n_out}));
  if (quant_traits(t->type) == nullptr) {
    return unimplemented_error("tensor '" + name + "': type " +
                               std::string(ggml_type_name(t->type)) +
                               " is not supported for computation");
  }
  return WeightMatrix{t->type, t->data, n_in, n_out};
}

Result<std::vector<float>> WeightLoader::floats(const std::string& name,
                                                std::initializer_list<int64_t> shape) const {
  QUIRE_ASSIGN_OR_RETURN(const gguf::TensorInfo* t, tensor(name, shape));
  DequantizeRowFn dequantize = dequantizer(t->type);
  if (dequantize == nullptr) {
    return unimplemented_error("tensor '" + name + "': type " +
                               std::string(ggml_type_name(t->type)) + " cannot be read");
  }
  std::vector<float> out(t->n_elements);
  const int64_t row = t->ne[0];
  const size_t row_bytes = ggml_row_size(t->type, static_cast<uint64_t>(row));
  for (uint64_t r = 0; row > 0 && r < t->n_elements / static_cast<uint64_t>(row); ++r) {
    dequantize(t->data + r * row_bytes, out.data() + r * static_cast<uint64_t>(row), row);
  }
  return out;
}

}  // namespace quire::engine
