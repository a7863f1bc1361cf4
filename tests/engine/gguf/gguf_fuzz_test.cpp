// Seeded mutation fuzzing of the GGUF reader: thousands of corrupted copies of a small valid file
// must each parse cleanly, either to a file whose every tensor lies inside the buffer and whose
// every value can be displayed, or to an error with a message. Run under ASan/UBSan, any read
// past a buffer, wild pointer or overflow aborts the test.
//
// Deterministic: mutation i draws from std::mt19937_64(kSeed + i), so a failure reported for
// (seed, iteration) replays alone. QUIRE_GGUF_FUZZ_ITERATIONS overrides the count for longer runs.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/gguf/gguf_reader.h"
#include "engine/gguf/gguf_writer.h"

namespace quire::engine::gguf {
namespace {

constexpr uint64_t kSeed = 0x9E3779B97F4A7C15;
constexpr uint64_t kDefaultIterations = 20000;

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// A valid file of about 3 KB: keys of every scalar kind, string and number arrays, a nested
// array, general.alignment, and tensors of types F32, F16 and Q8_0 (one of them empty).
Result<std::vector<uint8_t>> write_sample() {
  GgufWriter w;
  w.set("general.architecture", "llama");
  w.set("general.name", "fuzz sample");
  w.set("general.alignment", uint32_t{32});
  w.set("llama.context_length", uint32_t{128});
  w.set("llama.block_count", uint64_t{2});
  w.set("llama.rope.freq_base", 10000.0f);
  w.set("llama.attention.layer_norm_rms_epsilon", 1e-5);
  w.set("test.i8", int8_t{-3});
  w.set("test.u16", uint16_t{65535});
  w.set("test.i16", int16_t{-300});
  w.set("test.i32", int32_t{-70000});
  w.set("test.i64", int64_t{-7});
  w.set("test.bool", true);
  w.set("test.u8", uint8_t{200});
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> token_types;
  for (int i = 0; i < 32; ++i) {
    tokens.push_back("tok" + std::to_string(i));
    scores.push_back(-0.25f * static_cast<float>(i));
    token_types.push_back(1 + i % 6);
  }
  w.set("tokenizer.ggml.tokens", Array::of_strings(tokens));
  w.set("tokenizer.ggml.scores", Array::of(scores));
  w.set("tokenizer.ggml.token_type", Array::of(token_types));
  w.set("test.bools", Array::of(std::vector<bool>{true, false, true}));
  w.set("test.nested",
        Array::of_arrays({Array::of(std::vector<uint64_t>{1, 2}), Array::of_strings({"x", "yz"}),
                          Array::of_arrays({Array::of(std::vector<double>{0.5})})}));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("a.weight", GgmlType::F32, {16, 8}, random_bytes(512, 1)));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("b.weight", GgmlType::F16, {32, 2, 2}, random_bytes(256, 2)));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("c.weight", GgmlType::Q8_0, {64, 8}, random_bytes(544, 3)));
  QUIRE_RETURN_IF_ERROR(w.add_tensor("d.bias", GgmlType::F32, {0}, {}));
  return w.to_bytes();
}

// Offsets of the sample's count, length, type, dimension and offset fields (from parsing the
// valid file), so that interesting values land where they matter, not only on aligned words.
std::vector<uint64_t> field_offsets(const GgufFile& file) {
  std::vector<uint64_t> out = {4, 8, 16};  // version, n_tensors, n_kv
  for (const auto& kv : file.metadata()) {
    const uint64_t type_at = kv.file_offset + 8 + kv.key.size();
    out.push_back(kv.file_offset);  // key length
    out.push_back(type_at);
    out.push_back(type_at + 4);  // value: a string length, or an array's element type
    if (kv.value.type() == ValueType::kArray) out.push_back(type_at + 8);  // array count
  }
  for (const auto& t : file.tensors()) {
    const uint64_t n_dims_at = t.info_offset + 8 + t.name.size();
    out.push_back(t.info_offset);  // name length
    out.push_back(n_dims_at);
    for (uint32_t d = 0; d < t.n_dims; ++d) out.push_back(n_dims_at + 4 + 8 * d);
    out.push_back(n_dims_at + 4 + 8 * t.n_dims);      // ggml type
    out.push_back(n_dims_at + 4 + 8 * t.n_dims + 4);  // data offset
  }
  return out;
}

// Values that break counts, lengths, type ids and offsets: small sizes and ids, 8/16-bit edges;
// then 32-bit edges, 2^32, 2^32 + 1, 2^60, 2^62, 2^63, INT64_MAX, UINT64_MAX, and UINT64_MAX
// rounded down to a multiple of 32 (an aligned offset that wraps when a size is added).
constexpr uint64_t kSmallValues[] = {0,  1,  2,  3,  4,  5,    8,    9,    12,    13,
                                     16, 31, 32, 33, 64, 0x7F, 0x80, 0xFF, 0xFFFF};
constexpr uint64_t kLargeValues[] = {0x7FFFFFFF,         0x80000000,         0xFFFFFFFF,
                                     0x100000000,        0x100000001,        0x1000000000000000,
                                     0x4000000000000000, 0x8000000000000000, 0x7FFFFFFFFFFFFFFF,
                                     0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFE0};

class Mutator {
 public:
  Mutator(uint64_t seed, const std::vector<uint64_t>& fields) : rng_(seed), fields_(fields) {}

  // Applies one to three random mutations to `bytes`.
  void mutate(std::vector<uint8_t>& bytes) {
    const int n = static_cast<int>(uniform(1, 3));
    for (int i = 0; i < n; ++i) mutate_once(bytes);
  }

 private:
  uint64_t uniform(uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  uint64_t position(const std::vector<uint8_t>& bytes) {
    return bytes.empty() ? 0 : uniform(0, bytes.size() - 1);
  }

  uint64_t interesting(uint64_t file_size) {
    switch (uniform(0, 2)) {
      case 0:
        return kSmallValues[uniform(0, std::size(kSmallValues) - 1)];
      case 1:
        return kLargeValues[uniform(0, std::size(kLargeValues) - 1)];
      default:
        return file_size - 1 + uniform(0, 2);  // the file size and one either side
    }
  }

  template <typename T>
  void write_at(std::vector<uint8_t>& bytes, uint64_t at, T value) {
    if (at + sizeof(T) > bytes.size()) return;
    std::memcpy(bytes.data() + at, &value, sizeof(T));
  }

  void mutate_once(std::vector<uint8_t>& bytes) {
    const uint64_t mutation = uniform(0, 8);
    switch (mutation) {
      case 0: {  // flip one to eight random bits
        if (bytes.empty()) return;
        for (uint64_t n = uniform(1, 8); n > 0; --n) {
          bytes[position(bytes)] ^= static_cast<uint8_t>(1u << uniform(0, 7));
        }
        return;
      }
      case 1: {  // overwrite one to eight random bytes
        if (bytes.empty()) return;
        for (uint64_t n = uniform(1, 8); n > 0; --n) {
          bytes[position(bytes)] = static_cast<uint8_t>(rng_());
        }
        return;
      }
      case 2:    // an interesting u32 or u64 at an aligned position
      case 3: {  // the same at the start of a header field of the original file
        const bool wide = uniform(0, 1) == 1;
        const uint64_t width = wide ? 8 : 4;
        const uint64_t at = mutation == 2 ? position(bytes) / width * width
                                          : fields_[uniform(0, fields_.size() - 1)];
        const uint64_t value = interesting(bytes.size());
        if (wide) {
          write_at<uint64_t>(bytes, at, value);
        } else {
          write_at<uint32_t>(bytes, at, static_cast<uint32_t>(value));
        }
        return;
      }
      case 4:  // truncate
        bytes.resize(uniform(0, bytes.size()));
        return;
      case 5: {  // insert 1..64 random bytes
        const uint64_t at = uniform(0, bytes.size());
        const std::vector<uint8_t> insert = random_bytes(uniform(1, 64), rng_());
        bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(at), insert.begin(), insert.end());
        return;
      }
      case 6: {  // delete 1..64 bytes
        if (bytes.empty()) return;
        const uint64_t at = position(bytes);
        const uint64_t n = std::min<uint64_t>(uniform(1, 64), bytes.size() - at);
        bytes.erase(bytes.begin() + static_cast<ptrdiff_t>(at),
                    bytes.begin() + static_cast<ptrdiff_t>(at + n));
        return;
      }
      case 7: {  // duplicate a chunk of the file elsewhere (a repeated record, say)
        if (bytes.empty()) return;
        const uint64_t from = position(bytes);
        const uint64_t n = std::min<uint64_t>(uniform(1, 128), bytes.size() - from);
        const std::vector<uint8_t> chunk(bytes.begin() + static_cast<ptrdiff_t>(from),
                                         bytes.begin() + static_cast<ptrdiff_t>(from + n));
        const uint64_t at = uniform(0, bytes.size());
        bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(at), chunk.begin(), chunk.end());
        return;
      }
      default: {  // copy a chunk over another place, keeping the length
        if (bytes.empty()) return;
        const uint64_t from = position(bytes);
        const uint64_t to = position(bytes);
        const uint64_t n =
            std::min<uint64_t>({uniform(1, 128), bytes.size() - from, bytes.size() - to});
        std::memmove(bytes.data() + to, bytes.data() + from, n);
        return;
      }
    }
  }

  std::mt19937_64 rng_;
  const std::vector<uint64_t>& fields_;
};

// Checks what an accepted file promises: tensors inside the buffer (their first and last bytes are
// read into `checksum`, so ASan sees any wild pointer), consistent lookups, displayable values.
// Returns "" or the first problem.
std::string check_accepted(const GgufFile& file, const std::vector<uint8_t>& bytes,
                           uint64_t& checksum) {
  const auto begin = reinterpret_cast<uintptr_t>(bytes.data());
  const auto end = begin + bytes.size();
  if (file.data_offset() > bytes.size()) return "data offset past the end";
  for (const auto& t : file.tensors()) {
    if (file.find_tensor(t.name) != &t) return "tensor '" + t.name + "' not found by name";
    if (t.n_bytes == 0) continue;
    const auto first = reinterpret_cast<uintptr_t>(t.data);
    if (first < begin || first > end || t.n_bytes > end - first) {
      return "tensor '" + t.name + "' data outside the buffer";
    }
    if (t.file_offset != file.data_offset() + t.offset || first - begin != t.file_offset) {
      return "tensor '" + t.name + "' offsets disagree";
    }
    checksum += t.data[0] + t.data[t.n_bytes - 1];
  }
  for (const auto& kv : file.metadata()) {
    if (file.find(kv.key) != &kv.value) return "key '" + kv.key + "' not found by name";
    if (kv.value.to_display().empty()) return "key '" + kv.key + "' displays as nothing";
    if (kv.value.to_display(1u << 20).empty()) return "key '" + kv.key + "' displays as nothing";
  }
  return "";
}

// "seed 0x9E3779B97F4A7C15", for messages.
std::string seed_text() {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "seed 0x%016" PRIX64, kSeed);
  return buf;
}

std::string where(uint64_t iteration) {
  return seed_text() + " iteration " + std::to_string(iteration);
}

uint64_t iterations() {
  const char* env = std::getenv("QUIRE_GGUF_FUZZ_ITERATIONS");
  if (env == nullptr || *env == '\0') return kDefaultIterations;
  return std::strtoull(env, nullptr, 10);
}

TEST(GgufFuzzTest, MutatedFilesParseOrFailCleanly) {
  auto sample = write_sample();
  ASSERT_TRUE(sample.ok()) << sample.status().to_string();
  const std::vector<uint8_t> original = std::move(sample).value();
  auto parsed = GgufFile::parse(original, "fuzz.gguf");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  uint64_t checksum = 0;
  ASSERT_EQ(check_accepted(*parsed, original, checksum), "");
  const std::vector<uint64_t> fields = field_offsets(*parsed);

  const uint64_t n = iterations();
  uint64_t n_ok = 0, n_failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    std::vector<uint8_t> work = original;
    Mutator(kSeed + i, fields).mutate(work);
    // A fresh buffer of exactly the mutated length: any read past it is a heap overflow.
    const std::vector<uint8_t> bytes(work.begin(), work.end());
    auto result = GgufFile::parse(bytes, "fuzz.gguf");
    if (result.ok()) {
      ++n_ok;
      const std::string problem = check_accepted(*result, bytes, checksum);
      ASSERT_EQ(problem, "") << where(i);
    } else {
      ++n_failed;
      const Status status = result.status();
      ASSERT_TRUE(status.code() == StatusCode::kDataLoss ||
                  status.code() == StatusCode::kUnimplemented)
          << where(i) << ": " << status.to_string();
      ASSERT_NE(status.message().find("offset "), std::string::npos)
          << where(i) << ": " << status.to_string();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ fuzz     ] " << seed_text() << ", " << n << " mutations of a " << original.size()
            << "-byte file in " << seconds << " s: " << n_ok << " parsed, " << n_failed
            << " refused (data checksum " << checksum << ")\n";
  // Both outcomes must occur, or the mutations (or the reader) are not doing their job.
  EXPECT_GT(n_ok, 0u) << seed_text();
  EXPECT_GT(n_failed, 0u) << seed_text();
}

}  // namespace
}  // namespace quire::engine::gguf
