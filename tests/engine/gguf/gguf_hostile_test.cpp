// Hostile GGUF files: each case patches a few bytes of a small valid file (or, for nesting, builds
// one by hand) and checks that the reader refuses it cleanly: the right status code, a message
// naming the byte offset of the problem and the key or tensor involved, no crash (ASan/UBSan run
// these tests) and no allocation sized from a hostile count.
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_reader.h"
#include "engine/gguf/gguf_writer.h"

namespace quire::engine::gguf {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// The valid file every case starts from: eight keys of seven value types (a string array and an
// f32 array among them) and three tensors laid out at data offsets 0, 128 and 256:
//   a.weight F32  [8, 4]     128 bytes
//   b.weight F16  [16, 2, 2] 128 bytes (three dimensions, for the shape-overflow cases)
//   c.weight Q8_0 [32, 16]   544 bytes = 16 rows * 1 block * 34, a multiple of 32, so the file
//                            ends exactly where c.weight's data ends (no trailing padding).
Result<std::vector<uint8_t>> write_sample() {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("general.alignment", uint32_t{32});
  w.set("test.i64", int64_t{-7});
  w.set("test.f32", 0.5f);
  w.set("test.bool", true);
  w.set("test.u8", uint8_t{200});
  w.set("tokenizer.ggml.tokens", Array::of_strings({"<s>", "</s>", "hello", "world"}));
  w.set("tokenizer.ggml.scores", Array::of(std::vector<float>{0.0f, -1.0f, -2.5f, -3.0f}));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("a.weight", GgmlType::F32, {8, 4}, random_bytes(128, 1)));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("b.weight", GgmlType::F16, {16, 2, 2}, random_bytes(128, 2)));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("c.weight", GgmlType::Q8_0, {32, 16}, random_bytes(544, 3)));
  return w.to_bytes();
}

// Where the fields of one metadata record lie (absolute file offsets).
struct KeyLayout {
  uint64_t record = 0;  // u64 key length (the record's first byte)
  uint64_t type = 0;    // u32 value type
  uint64_t value = 0;   // the value; for an array: u32 element type, u64 count at +4, items at +12
};

// Where the fields of one tensor info record lie.
struct TensorLayout {
  uint64_t record = 0;  // u64 name length
  uint64_t n_dims = 0;  // u32
  uint64_t ne = 0;      // u64 ne[0]; ne[d] at ne + 8 * d
  uint64_t type = 0;    // u32 ggml type
  uint64_t offset = 0;  // u64 data offset, relative to the data section
};

struct Layout {
  std::map<std::string, KeyLayout> keys;
  std::map<std::string, TensorLayout> tensors;
  uint64_t data_start = 0;             // first byte of the tensor data section
  std::vector<uint64_t> field_starts;  // first byte of every header field, in file order
};

// Walks a trusted, valid file and records where each field lies. Independent of the reader, so a
// reader bug cannot move the patch positions along with it.
class LayoutWalker {
 public:
  explicit LayoutWalker(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}

  Layout walk() {
    Layout layout;
    fields_ = &layout.field_starts;
    get<uint32_t>();  // magic
    get<uint32_t>();  // version
    const uint64_t n_tensors = get<uint64_t>();
    const uint64_t n_kv = get<uint64_t>();
    for (uint64_t i = 0; i < n_kv; ++i) {
      KeyLayout k;
      k.record = pos_;
      const std::string key = get_string();
      k.type = pos_;
      const auto type = static_cast<ValueType>(get<uint32_t>());
      k.value = pos_;
      skip_value(type);
      layout.keys[key] = k;
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      TensorLayout t;
      t.record = pos_;
      const std::string name = get_string();
      t.n_dims = pos_;
      const uint32_t n_dims = get<uint32_t>();
      t.ne = pos_;
      for (uint32_t d = 0; d < n_dims; ++d) get<uint64_t>();
      t.type = pos_;
      get<uint32_t>();
      t.offset = pos_;
      get<uint64_t>();
      layout.tensors[name] = t;
    }
    layout.data_start = (pos_ + kDefaultAlignment - 1) / kDefaultAlignment * kDefaultAlignment;
    return layout;
  }

 private:
  template <typename T>
  T get() {
    fields_->push_back(pos_);
    T x;
    std::memcpy(&x, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return x;
  }
  std::string get_string() {
    const uint64_t length = get<uint64_t>();
    fields_->push_back(pos_);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return s;
  }
  void skip_value(ValueType type) {
    if (type == ValueType::kString) {
      get_string();
    } else if (type == ValueType::kArray) {
      const auto elem_type = static_cast<ValueType>(get<uint32_t>());
      const uint64_t count = get<uint64_t>();
      for (uint64_t i = 0; i < count; ++i) skip_value(elem_type);
    } else {
      fields_->push_back(pos_);
      pos_ += value_type_size(type);
    }
  }

  const std::vector<uint8_t>& bytes_;
  uint64_t pos_ = 0;
  std::vector<uint64_t>* fields_ = nullptr;
};

template <typename T>
void patch(std::vector<uint8_t>& bytes, uint64_t at, T value) {
  ASSERT_LE(at + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

// The offset an error message names ("'x.gguf': offset 123 (0x7b): ..."), or nullopt.
std::optional<uint64_t> offset_in(const std::string& message) {
  const size_t at = message.find("offset ");
  if (at == std::string::npos) return std::nullopt;
  const size_t digits = at + 7;
  size_t end = digits;
  while (end < message.size() && message[end] >= '0' && message[end] <= '9') ++end;
  if (end == digits) return std::nullopt;
  return std::stoull(message.substr(digits, end - digits));
}

// Parses `bytes` and checks that it fails with `code`, names exactly `offset`, and contains every
// string of `fragments` (the key or tensor, and what is wrong).
::testing::AssertionResult refused(const std::vector<uint8_t>& bytes, StatusCode code,
                                   uint64_t offset, const std::vector<std::string>& fragments) {
  auto result = GgufFile::parse(bytes, "hostile.gguf");
  if (result.ok()) return ::testing::AssertionFailure() << "parsed OK";
  const Status status = result.status();
  const std::string& message = status.message();
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "code " << status_code_name(status.code()) << ", expected " << status_code_name(code)
           << ": " << message;
  }
  if (offset_in(message) != offset) {
    return ::testing::AssertionFailure() << "expected \"offset " << offset << "\": " << message;
  }
  if (message.find("'hostile.gguf'") == std::string::npos) {
    return ::testing::AssertionFailure() << "the file is not named: " << message;
  }
  for (const auto& fragment : fragments) {
    if (message.find(fragment) == std::string::npos) {
      return ::testing::AssertionFailure() << "\"" << fragment << "\" missing: " << message;
    }
  }
  return ::testing::AssertionSuccess() << message;
}

class GgufHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bytes = write_sample();
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    original_ = std::move(bytes).value();
    layout_ = LayoutWalker(original_).walk();
    bytes_ = original_;
  }

  const KeyLayout& key(const std::string& name) const { return layout_.keys.at(name); }
  const TensorLayout& tensor(const std::string& name) const { return layout_.tensors.at(name); }

  std::vector<uint8_t> original_;
  Layout layout_;
  std::vector<uint8_t> bytes_;  // the copy each test patches
};

TEST_F(GgufHostileTest, UnmodifiedSampleParses) {
  auto file = GgufFile::parse(bytes_, "hostile.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->metadata().size(), 8u);
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->data_offset(), layout_.data_start);
  const Array* tokens = file->get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->strings.at(2), "hello");
  const uint64_t data_offsets[] = {0, 128, 256};
  const uint64_t sizes[] = {128, 128, 544};
  for (size_t i = 0; i < 3; ++i) {
    const TensorInfo& t = file->tensors()[i];
    EXPECT_EQ(t.offset, data_offsets[i]) << t.name;
    EXPECT_EQ(t.n_bytes, sizes[i]) << t.name;
    EXPECT_EQ(t.info_offset, layout_.tensors.at(t.name).record) << t.name;
  }
  // The truncation cases rely on the last tensor reaching the end of the file.
  EXPECT_EQ(layout_.data_start + 256 + 544, bytes_.size());
  // Version 2 shares the layout.
  patch<uint32_t>(bytes_, 4, 2);
  EXPECT_TRUE(GgufFile::parse(bytes_, "hostile.gguf").ok());
}

TEST_F(GgufHostileTest, TruncationAnywhereIsDataLoss) {
  // Every field boundary of the header, the byte after it (a cut inside the field), the start of
  // the data section and of each tensor's data, and 25 evenly spaced cuts through the file.
  std::set<uint64_t> cuts;
  for (uint64_t at : layout_.field_starts) {
    cuts.insert(at);
    cuts.insert(at + 1);
  }
  for (uint64_t data_offset : {0, 1, 127, 128, 200, 256, 257, 799}) {
    cuts.insert(layout_.data_start + data_offset);
  }
  for (uint64_t i = 0; i < 25; ++i) cuts.insert(i * original_.size() / 25);
  ASSERT_GE(cuts.size(), 60u);
  for (uint64_t cut : cuts) {
    ASSERT_LT(cut, original_.size());
    SCOPED_TRACE("truncated to " + std::to_string(cut) + " bytes");
    // An exactly sized buffer, so ASan flags any read past the cut.
    const std::vector<uint8_t> truncated(original_.begin(), original_.begin() + cut);
    auto result = GgufFile::parse(truncated, "hostile.gguf");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status().message();
    const auto offset = offset_in(result.status().message());
    ASSERT_TRUE(offset.has_value()) << result.status().message();
    EXPECT_LE(*offset, cut) << result.status().message();
    if (cut >= layout_.data_start) {
      EXPECT_NE(result.status().message().find("runs past the end of the file"), std::string::npos)
          << result.status().message();
    }
  }
}

TEST_F(GgufHostileTest, HugeTensorCountFailsBeforeAllocating) {
  for (uint64_t count : {uint64_t{1} << 60, kU64Max}) {
    patch<uint64_t>(bytes_, 8, count);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, 8,
                        {"tensor count " + std::to_string(count), "cannot fit"}));
  }
}

TEST_F(GgufHostileTest, HugeMetadataCountFailsBeforeAllocating) {
  for (uint64_t count : {uint64_t{1} << 60, kU64Max}) {
    patch<uint64_t>(bytes_, 16, count);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, 16,
                        {"metadata count " + std::to_string(count), "cannot fit"}));
  }
}

TEST_F(GgufHostileTest, KeyLengthPastTheEnd) {
  // test.f32 is the fourth key: entry 3. Its name is unknown until it is read.
  const uint64_t at = key("test.f32").record;
  for (uint64_t length : {uint64_t{bytes_.size()}, uint64_t{1} << 62, kU64Max}) {
    patch<uint64_t>(bytes_, at, length);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                        {"metadata entry 3", "key length " + std::to_string(length),
                         "runs past the end of the file"}));
  }
}

TEST_F(GgufHostileTest, StringValueLengthPastTheEnd) {
  const uint64_t at = key("general.architecture").value;
  patch<uint64_t>(bytes_, at, uint64_t{1} << 40);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                      {"metadata key 'general.architecture'", "string value length 1099511627776",
                       "runs past the end of the file"}));
}

TEST_F(GgufHostileTest, ArrayStringLengthPastTheEnd) {
  const uint64_t at = key("tokenizer.ggml.tokens").value + 12;  // the first item's length
  patch<uint64_t>(bytes_, at, kU64Max);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                      {"metadata key 'tokenizer.ggml.tokens'", "array string length",
                       "runs past the end of the file"}));
}

TEST_F(GgufHostileTest, ArrayLengthPastTheEnd) {
  for (const char* name : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores"}) {
    for (uint64_t count : {uint64_t{1} << 62, kU64Max, uint64_t{bytes_.size()}}) {
      std::vector<uint8_t> bytes = original_;
      const uint64_t at = key(name).value;
      patch<uint64_t>(bytes, at + 4, count);
      EXPECT_TRUE(refused(bytes, StatusCode::kDataLoss, at,
                          {"metadata key '" + std::string(name) + "'",
                           "array of " + std::to_string(count), "runs past the end of the file"}));
    }
  }
}

TEST_F(GgufHostileTest, TensorDataPastTheEnd) {
  // The data section holds 800 bytes; c.weight's 544 bytes at 288 end at 832. The other offsets
  // are aligned but far out, and the last would overflow offset + size if added unchecked.
  for (uint64_t offset : {uint64_t{288}, uint64_t{1} << 62, kU64Max / 32 * 32}) {
    patch<uint64_t>(bytes_, tensor("c.weight").offset, offset);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, tensor("c.weight").record,
                        {"tensor 'c.weight'", "runs past the end of the file"}));
  }
}

TEST_F(GgufHostileTest, OverlappingTensors) {
  patch<uint64_t>(bytes_, tensor("b.weight").offset, 96);  // a.weight covers [0, 128)
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, tensor("b.weight").record,
                      {"tensor 'b.weight'", "overlaps tensor 'a.weight'"}));
}

TEST_F(GgufHostileTest, OverlapAcrossAnEmptyTensorIsFound) {
  // b.weight becomes [16, 2, 0] (zero bytes) at 32, c.weight moves to 64: sorted by offset the
  // order is a, b, c, and c overlaps a although b sits between them.
  patch<uint64_t>(bytes_, tensor("b.weight").ne + 16, 0);
  patch<uint64_t>(bytes_, tensor("b.weight").offset, 32);
  patch<uint64_t>(bytes_, tensor("c.weight").offset, 64);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, tensor("c.weight").record,
                      {"tensor 'c.weight'", "overlaps tensor 'a.weight'"}));
}

TEST_F(GgufHostileTest, EmptyTensorInsideAnotherIsAccepted) {
  // Zero bytes overlap nothing.
  patch<uint64_t>(bytes_, tensor("b.weight").ne + 16, 0);
  patch<uint64_t>(bytes_, tensor("b.weight").offset, 32);
  auto file = GgufFile::parse(bytes_, "hostile.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->find_tensor("b.weight")->n_bytes, 0u);
}

TEST_F(GgufHostileTest, MisalignedTensorOffset) {
  for (uint64_t offset : {130, 144}) {
    patch<uint64_t>(bytes_, tensor("b.weight").offset, offset);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, tensor("b.weight").offset,
                        {"tensor 'b.weight'", "data offset " + std::to_string(offset),
                         "not a multiple of the alignment 32"}));
  }
}

TEST_F(GgufHostileTest, AlignmentZeroOrNotAPowerOfTwo) {
  const KeyLayout& alignment = key("general.alignment");
  for (uint32_t value : {0u, 3u, 48u}) {
    patch<uint32_t>(bytes_, alignment.value, value);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, alignment.record,
                        {"metadata key 'general.alignment'",
                         "alignment " + std::to_string(value) + " is not a power of two"}));
  }
}

TEST_F(GgufHostileTest, AlignmentOfTheWrongType) {
  const KeyLayout& alignment = key("general.alignment");
  // Same-sized types, so the file still parses up to the alignment check.
  patch<uint32_t>(bytes_, alignment.type, static_cast<uint32_t>(ValueType::kInt32));
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, alignment.record,
                      {"metadata key 'general.alignment'", "type INT32, expected UINT32"}));
  patch<uint32_t>(bytes_, alignment.type, static_cast<uint32_t>(ValueType::kFloat32));
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, alignment.record,
                      {"metadata key 'general.alignment'", "type FLOAT32, expected UINT32"}));
}

TEST_F(GgufHostileTest, UnknownValueType) {
  const uint64_t at = key("test.f32").type;
  for (uint32_t type : {13u, 0xFFFFFFFFu}) {
    patch<uint32_t>(bytes_, at, type);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                        {"metadata key 'test.f32'", "unknown value type " + std::to_string(type)}));
  }
}

TEST_F(GgufHostileTest, UnknownArrayElementType) {
  const uint64_t at = key("tokenizer.ggml.tokens").value;
  for (uint32_t type : {13u, 0xFFFFFFFFu}) {
    patch<uint32_t>(bytes_, at, type);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                        {"metadata key 'tokenizer.ggml.tokens'",
                         "unknown array element type " + std::to_string(type)}));
  }
}

TEST_F(GgufHostileTest, UnknownTensorType) {
  // 4 and 5 are ids ggml retired (Q4_2, Q4_3); 99 was never assigned.
  const uint64_t at = tensor("a.weight").type;
  for (uint32_t type : {4u, 5u, 99u, 0xFFFFFFFFu}) {
    patch<uint32_t>(bytes_, at, type);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, at,
                        {"tensor 'a.weight'", "unknown tensor type " + std::to_string(type)}));
  }
}

TEST_F(GgufHostileTest, TooManyDimensions) {
  const uint64_t at = tensor("c.weight").n_dims;
  for (uint32_t n_dims : {5u, 0xFFFFFFFFu}) {
    patch<uint32_t>(bytes_, at, n_dims);
    EXPECT_TRUE(
        refused(bytes_, StatusCode::kDataLoss, at,
                {"tensor 'c.weight'", "n_dims " + std::to_string(n_dims), "expected at most 4"}));
  }
}

TEST_F(GgufHostileTest, ElementCountOverflow) {
  const TensorLayout& b = tensor("b.weight");
  // 2^96 elements wrap a uint64; 2^63 elements fit in one but exceed INT64_MAX by one.
  const uint64_t shapes[][3] = {{uint64_t{1} << 32, uint64_t{1} << 32, uint64_t{1} << 32},
                                {uint64_t{1} << 31, uint64_t{1} << 31, 2},
                                {uint64_t{1} << 21, uint64_t{1} << 21, uint64_t{1} << 21}};
  for (const auto& ne : shapes) {
    for (int d = 0; d < 3; ++d) patch<uint64_t>(bytes_, b.ne + 8 * d, ne[d]);
    EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, b.n_dims,
                        {"tensor 'b.weight'", "has more than INT64_MAX elements"}));
  }
}

TEST_F(GgufHostileTest, ByteSizeOverflow) {
  // 2^62 F32 elements are a valid count, but 2^64 bytes.
  const TensorLayout& a = tensor("a.weight");
  patch<uint64_t>(bytes_, a.ne, uint64_t{1} << 31);
  patch<uint64_t>(bytes_, a.ne + 8, uint64_t{1} << 31);
  EXPECT_TRUE(
      refused(bytes_, StatusCode::kDataLoss, a.n_dims,
              {"tensor 'a.weight'", "byte size of shape [2147483648, 2147483648] overflows"}));
}

TEST_F(GgufHostileTest, DimensionAboveInt64Max) {
  const TensorLayout& a = tensor("a.weight");
  for (uint64_t ne : {kInt64Max + 1, kU64Max}) {
    patch<uint64_t>(bytes_, a.ne + 8, ne);
    EXPECT_TRUE(refused(
        bytes_, StatusCode::kDataLoss, a.ne + 8,
        {"tensor 'a.weight'", "dimension 1 is " + std::to_string(ne), "larger than INT64_MAX"}));
  }
}

TEST_F(GgufHostileTest, Q8_0RowLengthNotAMultipleOfTheBlock) {
  const TensorLayout& c = tensor("c.weight");
  for (uint64_t ne0 : {33, 16, 1}) {
    patch<uint64_t>(bytes_, c.ne, ne0);
    EXPECT_TRUE(refused(
        bytes_, StatusCode::kDataLoss, c.n_dims,
        {"tensor 'c.weight'", "row length " + std::to_string(ne0) + " is not a multiple of 32",
         "block size of Q8_0"}));
  }
}

TEST_F(GgufHostileTest, DuplicateKey) {
  // "test.f32" and "test.i64" have the same length; the second record becomes a duplicate.
  const KeyLayout& f32 = key("test.f32");
  ASSERT_LT(key("test.i64").record, f32.record);
  std::memcpy(bytes_.data() + f32.record + 8, "test.i64", 8);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, f32.record,
                      {"metadata key 'test.i64'", "duplicate key"}));
}

TEST_F(GgufHostileTest, DuplicateTensorName) {
  const TensorLayout& b = tensor("b.weight");
  bytes_[b.record + 8] = 'a';  // "b.weight" -> "a.weight"
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, b.record,
                      {"tensor 'a.weight'", "duplicate tensor name"}));
}

TEST_F(GgufHostileTest, BadMagic) {
  std::memcpy(bytes_.data(), "GGML", 4);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, 0, {"not a GGUF file"}));
  std::memcpy(bytes_.data(), "\0\0\0\0", 4);
  EXPECT_TRUE(refused(bytes_, StatusCode::kDataLoss, 0, {"not a GGUF file", "magic 0x0"}));
}

TEST_F(GgufHostileTest, Version1IsUnimplemented) {
  patch<uint32_t>(bytes_, 4, 1);
  EXPECT_TRUE(refused(bytes_, StatusCode::kUnimplemented, 4, {"GGUF version 1"}));
}

TEST_F(GgufHostileTest, UnknownVersionIsUnimplemented) {
  for (uint32_t version : {0u, 4u, 99u, 0xFFFFFFFFu}) {
    patch<uint32_t>(bytes_, 4, version);
    EXPECT_TRUE(refused(bytes_, StatusCode::kUnimplemented, 4,
                        {"GGUF version " + std::to_string(version) + " is not supported"}));
  }
}

TEST_F(GgufHostileTest, BigEndianVersionIsUnimplemented) {
  for (uint32_t version : {0x02000000u, 0x03000000u}) {
    patch<uint32_t>(bytes_, 4, version);
    EXPECT_TRUE(refused(bytes_, StatusCode::kUnimplemented, 4, {"big-endian"}));
  }
}

// A file with no tensors and one key, "test.nested", holding `levels` arrays each inside the
// last (the innermost an empty UINT8 array). Built by hand: GgufWriter refuses to write more than
// kMaxArrayDepth levels. `level_offsets[k]` is where level k + 1 starts.
std::vector<uint8_t> nested_array_file(int levels, std::vector<uint64_t>& level_offsets) {
  std::vector<uint8_t> out;
  auto put = [&](auto x) {
    const auto* p = reinterpret_cast<const uint8_t*>(&x);
    out.insert(out.end(), p, p + sizeof(x));
  };
  const std::string key = "test.nested";
  put(kMagic);
  put(uint32_t{3});  // version
  put(uint64_t{0});  // tensors
  put(uint64_t{1});  // keys
  put(uint64_t{key.size()});
  out.insert(out.end(), key.begin(), key.end());
  put(static_cast<uint32_t>(ValueType::kArray));
  level_offsets.clear();
  for (int level = 1; level <= levels; ++level) {
    level_offsets.push_back(out.size());
    const bool innermost = level == levels;
    put(static_cast<uint32_t>(innermost ? ValueType::kUint8 : ValueType::kArray));
    put(uint64_t{innermost ? 0u : 1u});
  }
  return out;
}

TEST(GgufHostileNestingTest, ArraysAtTheDepthLimitParse) {
  std::vector<uint64_t> levels;
  const std::vector<uint8_t> bytes = nested_array_file(kMaxArrayDepth, levels);
  auto file = GgufFile::parse(bytes, "hostile.gguf");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  const Array* a = file->get_array("test.nested");
  int depth = 1;
  for (; a->elem_type == ValueType::kArray; a = &a->arrays.at(0)) ++depth;
  EXPECT_EQ(depth, kMaxArrayDepth);
}

TEST(GgufHostileNestingTest, ArraysNestedTooDeepAreRefused) {
  for (int n_levels : {kMaxArrayDepth + 1, 10000}) {
    std::vector<uint64_t> levels;
    const std::vector<uint8_t> bytes = nested_array_file(n_levels, levels);
    EXPECT_TRUE(refused(
        bytes, StatusCode::kDataLoss, levels[kMaxArrayDepth],
        {"metadata key 'test.nested'", "nested deeper than " + std::to_string(kMaxArrayDepth)}))
        << n_levels << " levels";
  }
}

}  // namespace
}  // namespace quire::engine::gguf
