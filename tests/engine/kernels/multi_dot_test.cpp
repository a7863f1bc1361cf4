// Multi-token dot products (batched decoding) against the single-token kernels: bit-identical
// for every token count, so a sequence's results never depend on what it is batched with.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"

namespace quire::engine {
namespace {

TEST(MultiTokenDot, BitIdenticalToSingleTokenKernels) {
  const KernelSet& ks = kernels();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int checked_types = 0;
  for (GgmlType type :
       {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    const TypeKernels* k = ks.find(type);
    ASSERT_NE(k, nullptr);
    if (k->vec_dot_multi == nullptr) continue;
    ++checked_types;
    for (int64_t n : {32, 256, 896, 4864}) {
      if (n % ggml_type_info(type).block_size != 0) continue;
      std::vector<float> wf(static_cast<size_t>(n));
      for (float& v : wf) v = normal(rng);
      std::vector<uint8_t> w(ggml_row_size(type, static_cast<uint64_t>(n)));
      quant_traits(type)->quantize(wf.data(), w.data(), n);
      const size_t act_row = ggml_row_size(k->vec_dot_type, static_cast<uint64_t>(n));
      std::vector<uint8_t> acts(act_row * kMaxMultiTokens);
      for (int t = 0; t < kMaxMultiTokens; ++t) {
        std::vector<float> x(static_cast<size_t>(n));
        for (float& v : x) v = normal(rng) * static_cast<float>(t + 1);
        k->quantize_activation(x.data(), acts.data() + t * act_row, n);
      }
      for (int count = 1; count <= kMaxMultiTokens; ++count) {
        std::vector<float> multi(static_cast<size_t>(count) * 3, -1.0f);
        k->vec_dot_multi(n, multi.data(), 3, w.data(), acts.data(), act_row, count);
        for (int t = 0; t < count; ++t) {
          float single = 0;
          k->vec_dot(n, &single, w.data(), acts.data() + t * act_row);
          uint32_t a, b;
          std::memcpy(&a, &multi[static_cast<size_t>(t) * 3], 4);
          std::memcpy(&b, &single, 4);
          EXPECT_EQ(a, b) << ggml_type_name(type) << " n " << n << " tokens " << count << " token "
                          << t << ": " << multi[t * 3] << " vs " << single;
        }
      }
    }
  }
  if (ks.name() == "avx2") {
    EXPECT_EQ(checked_types, 4);  // Q5_0, Q8_0, Q4_K, Q6_K
  }
}

}  // namespace
}  // namespace quire::engine
