// Writer -> reader round trip: every value type, arrays of each, nested and empty arrays, empty
// strings, unicode keys, and tensors of several types, read back identical.
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_reader.h"
#include "engine/gguf/gguf_writer.h"
#include "tests/support/test_support.h"

namespace quire::engine::gguf {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Metadata covering every value type, with edge values.
std::vector<std::pair<std::string, Value>> every_kind_of_metadata() {
  std::vector<std::pair<std::string, Value>> kv;
  kv.emplace_back("general.architecture", "llama");
  kv.emplace_back("t.u8", uint8_t{255});
  kv.emplace_back("t.i8", int8_t{-128});
  kv.emplace_back("t.u16", uint16_t{65535});
  kv.emplace_back("t.i16", int16_t{-32768});
  kv.emplace_back("t.u32", uint32_t{4294967295u});
  kv.emplace_back("t.i32", int32_t{std::numeric_limits<int32_t>::min()});
  kv.emplace_back("t.f32", 1e-5f);
  kv.emplace_back("t.f32.nan", std::numeric_limits<float>::quiet_NaN());
  kv.emplace_back("t.f32.neg_inf", -std::numeric_limits<float>::infinity());
  kv.emplace_back("t.bool.true", true);
  kv.emplace_back("t.bool.false", false);
  kv.emplace_back("t.string", std::string("hello, GGUF"));
  kv.emplace_back("t.string.empty", std::string());
  kv.emplace_back("t.string.nul", std::string("a\0b", 3));
  kv.emplace_back("t.string.unicode", "Zürich: café 你好 🦙");
  kv.emplace_back("t.u64", uint64_t{std::numeric_limits<uint64_t>::max()});
  kv.emplace_back("t.i64", int64_t{std::numeric_limits<int64_t>::min()});
  kv.emplace_back("t.f64", 3.141592653589793);
  kv.emplace_back("t.f64.denormal", std::numeric_limits<double>::denorm_min());
  kv.emplace_back("ключ.日本語.🔑", std::string("unicode key"));
  kv.emplace_back("", std::string("empty key"));

  kv.emplace_back("a.u8", Array::of(std::vector<uint8_t>{0, 1, 255}));
  kv.emplace_back("a.i8", Array::of(std::vector<int8_t>{-128, 0, 127}));
  kv.emplace_back("a.u16", Array::of(std::vector<uint16_t>{0, 65535}));
  kv.emplace_back("a.i16", Array::of(std::vector<int16_t>{-32768, 32767}));
  kv.emplace_back("a.u32", Array::of(std::vector<uint32_t>{1, 2, 3}));
  kv.emplace_back("a.i32", Array::of(std::vector<int32_t>{-1, 1 << 30}));
  kv.emplace_back("a.f32", Array::of(std::vector<float>{0.5f, -1e9f, 1e-30f}));
  kv.emplace_back("a.bool", Array::of(std::vector<bool>{true, false, true}));
  kv.emplace_back("a.string", Array::of_strings({"▁the", "", "<0x0A>", "你好", "a b"}));
  kv.emplace_back("a.u64", Array::of(std::vector<uint64_t>{0, ~0ull}));
  kv.emplace_back("a.i64", Array::of(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 7}));
  kv.emplace_back("a.f64", Array::of(std::vector<double>{1e300, -0.0}));
  kv.emplace_back("a.empty.u32", Array::of(std::vector<uint32_t>{}));
  kv.emplace_back("a.empty.string", Array::of_strings({}));
  kv.emplace_back("a.empty.array", Array::of_arrays({}));
  kv.emplace_back("a.nested",
                  Array::of_arrays({Array::of(std::vector<int32_t>{1, 2}), Array::of_strings({"x"}),
                                    Array::of_arrays({Array::of(std::vector<float>{1.5f})}),
                                    Array::of(std::vector<uint8_t>{})}));
  return kv;
}

struct TensorSpec {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
};

const std::vector<TensorSpec>& tensor_specs() {
  static const std::vector<TensorSpec> specs = {
      {"token_embd.weight", GgmlType::F32, {8, 5}},
      {"blk.0.attn_q.weight", GgmlType::F16, {16, 3}},
      {"blk.0.ffn_up.weight", GgmlType::Q8_0, {64, 2}},
      {"blk.0.ffn_down.weight", GgmlType::Q4_K, {256, 3}},
      {"blk.0.attn_norm.weight", GgmlType::F32, {7}},  // not a multiple of the alignment
      {"blk.0.bf16", GgmlType::BF16, {4, 1, 2, 3}},
      {"blk.0.q6_k", GgmlType::Q6_K, {512}},
      {"blk.0.q4_0.3d", GgmlType::Q4_0, {32, 2, 2}},
      {"empty", GgmlType::F32, {0, 4}},
  };
  return specs;
}

std::vector<uint8_t> build_file(uint32_t version, std::optional<uint32_t> alignment,
                                std::vector<std::vector<uint8_t>>& payloads) {
  GgufWriter w;
  w.set_version(version);
  for (auto& [k, v] : every_kind_of_metadata()) w.set(k, v);
  if (alignment) w.set("general.alignment", *alignment);
  payloads.clear();
  uint64_t seed = 1;
  for (const auto& spec : tensor_specs()) {
    const auto& info = ggml_type_info(spec.type);
    uint64_t rows = 1;
    for (size_t d = 1; d < spec.ne.size(); ++d) rows *= static_cast<uint64_t>(spec.ne[d]);
    const size_t n = static_cast<size_t>(spec.ne[0] / info.block_size * info.type_size * rows);
    payloads.push_back(random_bytes(n, seed++));
    EXPECT_TRUE(w.add_tensor_view(spec.name, spec.type, spec.ne, payloads.back()).ok());
  }
  auto bytes = w.to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>{};
}

void expect_identical(const GgufFile& file, uint32_t version, uint32_t alignment,
                      const std::vector<std::vector<uint8_t>>& payloads, bool has_alignment_key) {
  EXPECT_EQ(file.version(), version);
  EXPECT_EQ(file.alignment(), alignment);
  EXPECT_EQ(file.data_offset() % alignment, 0u);
  auto expected = every_kind_of_metadata();
  if (has_alignment_key) expected.emplace_back("general.alignment", Value(alignment));
  ASSERT_EQ(file.metadata().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const KeyValue& kv = file.metadata()[i];
    EXPECT_EQ(kv.key, expected[i].first) << "entry " << i;
    EXPECT_EQ(kv.value.type(), expected[i].second.type()) << kv.key;
    EXPECT_TRUE(kv.value == expected[i].second)
        << kv.key << ": " << kv.value.to_display() << " vs " << expected[i].second.to_display();
    EXPECT_EQ(file.find(kv.key), &kv.value);
  }
  ASSERT_EQ(file.tensors().size(), tensor_specs().size());
  for (size_t i = 0; i < tensor_specs().size(); ++i) {
    const TensorSpec& spec = tensor_specs()[i];
    const TensorInfo& t = file.tensors()[i];
    EXPECT_EQ(t.name, spec.name);
    EXPECT_EQ(t.type, spec.type);
    ASSERT_EQ(t.n_dims, spec.ne.size());
    for (size_t d = 0; d < spec.ne.size(); ++d) EXPECT_EQ(t.ne[d], spec.ne[d]);
    EXPECT_EQ(t.n_bytes, payloads[i].size());
    EXPECT_EQ(t.offset % alignment, 0u) << t.name;
    EXPECT_EQ(t.file_offset, file.data_offset() + t.offset);
    EXPECT_TRUE(std::equal(payloads[i].begin(), payloads[i].end(), t.data)) << t.name;
    EXPECT_EQ(file.find_tensor(spec.name), &t);
  }
}

TEST(GgufRoundTripTest, EveryValueTypeAndSeveralTensorTypesV3) {
  std::vector<std::vector<uint8_t>> payloads;
  auto bytes = build_file(3, std::nullopt, payloads);
  auto file = GgufFile::parse(bytes, "memory");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  expect_identical(*file, 3, kDefaultAlignment, payloads, false);
}

TEST(GgufRoundTripTest, Version2AndCustomAlignment) {
  std::vector<std::vector<uint8_t>> payloads;
  auto bytes = build_file(2, 64u, payloads);
  auto file = GgufFile::parse(bytes, "memory");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  expect_identical(*file, 2, 64, payloads, true);
}

TEST(GgufRoundTripTest, WriteFileThenOpenMapped) {
  test::TempDir dir;
  std::vector<std::vector<uint8_t>> payloads;
  const std::string path = dir.file("model.gguf");
  GgufWriter w;
  for (auto& [k, v] : every_kind_of_metadata()) w.set(k, v);
  uint64_t seed = 10;
  for (const auto& spec : tensor_specs()) {
    const auto& info = ggml_type_info(spec.type);
    uint64_t rows = 1;
    for (size_t d = 1; d < spec.ne.size(); ++d) rows *= static_cast<uint64_t>(spec.ne[d]);
    auto data = random_bytes(
        static_cast<size_t>(spec.ne[0] / info.block_size * info.type_size * rows), seed++);
    payloads.push_back(data);
    ASSERT_TRUE(w.add_tensor(spec.name, spec.type, spec.ne, std::move(data)).ok());
  }
  ASSERT_TRUE(w.write_file(path).ok());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  expect_identical(*file, 3, kDefaultAlignment, payloads, false);
  // The in-memory serialization is byte-identical to the file.
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, test::read_file(path));
  // No temporary file is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(GgufRoundTripTest, SetReplacesInPlaceAndRemoveWorks) {
  GgufWriter w;
  w.set("a", uint32_t{1});
  w.set("b", uint32_t{2});
  w.set("a", std::string("one"));
  EXPECT_TRUE(w.remove("b"));
  EXPECT_FALSE(w.remove("b"));
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::parse(*bytes, "memory");
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(file->metadata().size(), 1u);
  EXPECT_EQ(file->get_string("a"), "one");
  EXPECT_EQ(file->tensors().size(), 0u);
}

TEST(GgufRoundTripTest, TypedGetters) {
  GgufWriter w;
  w.set("u", uint32_t{7});
  w.set("i", int32_t{-3});
  w.set("f", 0.25f);
  w.set("b", true);
  w.set("s", "x");
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::parse(*bytes, "memory");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->get_uint("u"), 7u);
  EXPECT_EQ(file->get_uint("i"), std::nullopt);  // negative
  EXPECT_EQ(file->get_double("f"), 0.25);
  EXPECT_EQ(file->get_double("u"), 7.0);
  EXPECT_EQ(file->get_bool("b"), true);
  EXPECT_EQ(file->get_bool("u"), std::nullopt);
  EXPECT_EQ(file->get_string("s"), "x");
  EXPECT_EQ(file->get_string("u"), std::nullopt);
  EXPECT_EQ(file->get_uint("missing"), std::nullopt);
  EXPECT_EQ(file->get_array("s"), nullptr);
}

TEST(GgufWriterTest, RejectsBadTensors) {
  GgufWriter w;
  std::vector<uint8_t> data(34);
  EXPECT_EQ(w.add_tensor_view("", GgmlType::Q8_0, {32}, data).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_view(std::string(64, 'x'), GgmlType::Q8_0, {32}, data).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_view("t", GgmlType::Q8_0, {16}, data).code(),
            StatusCode::kInvalidArgument);  // not a multiple of the block
  EXPECT_EQ(w.add_tensor_view("t", GgmlType::Q8_0, {64}, data).code(),
            StatusCode::kInvalidArgument);  // wrong byte count
  EXPECT_EQ(w.add_tensor_view("t", GgmlType::Q8_0, {}, data).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_view("t", GgmlType::Q8_0, {32, 1, 1, 1, 1}, data).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(w.add_tensor_view("t", GgmlType::Q8_0, {32}, data).ok());
  Status dup = w.add_tensor_view("t", GgmlType::Q8_0, {32}, data);
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate"), std::string::npos);
  EXPECT_EQ(w.tensor_count(), 1u);

  GgufWriter bad_alignment;
  bad_alignment.set("general.alignment", uint32_t{48});
  EXPECT_EQ(bad_alignment.to_bytes().status().code(), StatusCode::kInvalidArgument);
}

TEST(GgufWriterTest, WriteFileIntoMissingDirectoryFails) {
  GgufWriter w;
  Status s = w.write_file("/nonexistent-dir-quire/x.gguf");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace quire::engine::gguf
