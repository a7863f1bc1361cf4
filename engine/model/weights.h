// Looking up a model's tensors by name with their expected shapes, for architecture loaders.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/matmul.h"

namespace quire::engine {

// Collects the tensors of one model from its GGUF file. Every lookup checks the name exists and
// the shape is what the architecture expects; errors name the tensor, its shape and the
// expected one: "tensor 'blk.3.attn_q.weight': shape [384, 1152], expected [384, 384]".
class WeightLoader {
 public:
  explicit WeightLoader(const gguf::GgufFile& file) : file_(file) {}

  // A 2-D weight used as y = W x: ne = [n_in, n_out]; its type must have kernels.
  Result<WeightMatrix> matrix(const std::string& name, int64_t n_in, int64_t n_out) const;
  // A small tensor (norm weight, bias, embedding table row set) of any dequantizable type,
  // copied to f32; `shape` lists ne[0], ne[1], ...
  Result<std::vector<float>> floats(const std::string& name,
                                    std::initializer_list<int64_t> shape) const;
  // A tensor kept in its file type (e.g. token embeddings, read row by row with get_rows).
  Result<const gguf::TensorInfo*> tensor(const std::string& name,
                                         std::initializer_list<int64_t> shape) const;
  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

 private:
  const gguf::GgufFile& file_;
};

}  // namespace quire::engine
