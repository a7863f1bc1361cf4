// Every GGUF of ../shared/conformance is read, directly and through `quire models inspect --json`,
// and matches manifest.json: version, alignment, data start, every scalar metadata value and its
// type, array types and lengths, and the tensor table (type, shape, bytes, absolute offset).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_reader.h"
#include "tests/support/test_support.h"

namespace quire::engine::gguf {
namespace {

using nlohmann::json;

std::vector<std::string> manifest_files() {
  std::string dir = test::shared_dir();
  if (dir.empty()) return {"(no ../shared)"};
  std::ifstream f(dir + "/conformance/manifest.json");
  if (!f) return {"(no manifest)"};
  json manifest = json::parse(f);
  std::vector<std::string> files;
  for (const auto& g : manifest["gguf"]) files.push_back(g["file"].get<std::string>());
  return files;
}

const json& manifest_entry(const std::string& file) {
  static json manifest = [] {
    std::ifstream f(test::shared_dir() + "/conformance/manifest.json");
    return json::parse(f);
  }();
  for (const auto& g : manifest["gguf"]) {
    if (g["file"] == file) return g;
  }
  static json empty;
  return empty;
}

// The manifest shortens long strings (chat templates) to a prefix followed by "...".
bool manifest_string_matches(const std::string& got, const std::string& expected) {
  const std::string ellipsis = "...";
  if (expected.size() > 200 && expected.ends_with(ellipsis) && got.size() > expected.size()) {
    return got.compare(0, expected.size() - ellipsis.size(), expected, 0,
                       expected.size() - ellipsis.size()) == 0;
  }
  return got == expected;
}

class GgufConformanceTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    QUIRE_REQUIRE_SHARED();
    entry_ = &manifest_entry(GetParam());
    ASSERT_FALSE(entry_->is_null()) << "no manifest entry for " << GetParam();
    path_ = test::shared_dir() + "/conformance/" + GetParam();
  }
  const json* entry_ = nullptr;
  std::string path_;
};

// The reader's view of the file against the manifest.
TEST_P(GgufConformanceTest, ReaderMatchesManifest) {
  auto file = GgufFile::open(path_);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  const json& e = *entry_;
  EXPECT_EQ(file->version(), e["gguf_version"].get<uint32_t>());
  EXPECT_EQ(file->alignment(), e["alignment"].get<uint32_t>());
  EXPECT_EQ(file->data_offset(), e["tensor_data_start"].get<uint64_t>());
  EXPECT_EQ(file->file_size(), e["size"].get<uint64_t>());
  EXPECT_EQ(file->metadata().size(), e["metadata"].size() + e["arrays"].size());

  for (const auto& [key, expected] : e["metadata"].items()) {
    const Value* v = file->find(key);
    ASSERT_NE(v, nullptr) << key;
    if (expected.is_string()) {
      ASSERT_NE(v->as_string(), nullptr) << key;
      EXPECT_TRUE(manifest_string_matches(*v->as_string(), expected.get<std::string>())) << key;
      continue;
    }
    const std::string type = expected["type"];
    EXPECT_EQ(value_type_name(v->type()), type) << key;
    if (type == "BOOL") {
      EXPECT_EQ(v->as_bool(), expected["value"].get<bool>()) << key;
    } else if (type == "FLOAT32" || type == "FLOAT64") {
      EXPECT_EQ(v->as_double(), expected["value"].get<double>()) << key;
    } else {
      EXPECT_EQ(v->as_int(), expected["value"].get<int64_t>()) << key;
    }
  }
  for (const auto& [key, expected] : e["arrays"].items()) {
    const Array* a = file->get_array(key);
    ASSERT_NE(a, nullptr) << key;
    EXPECT_EQ(value_type_name(a->elem_type), expected["type"].get<std::string>()) << key;
    EXPECT_EQ(a->size(), expected["length"].get<size_t>()) << key;
  }

  ASSERT_EQ(file->tensors().size(), e["tensors"].size());
  for (size_t i = 0; i < file->tensors().size(); ++i) {
    const TensorInfo& t = file->tensors()[i];
    const json& et = e["tensors"][i];
    EXPECT_EQ(t.name, et["name"].get<std::string>());
    EXPECT_EQ(ggml_type_name(t.type), et["type"].get<std::string>()) << t.name;
    ASSERT_EQ(t.n_dims, et["ne"].size()) << t.name;
    for (uint32_t d = 0; d < t.n_dims; ++d)
      EXPECT_EQ(t.ne[d], et["ne"][d].get<int64_t>()) << t.name;
    EXPECT_EQ(t.n_bytes, et["n_bytes"].get<uint64_t>()) << t.name;
    EXPECT_EQ(t.file_offset, et["data_offset"].get<uint64_t>()) << t.name;
  }
}

// The CLI's JSON against the manifest: what a user or script sees.
TEST_P(GgufConformanceTest, InspectJsonMatchesManifest) {
  auto r = test::run_command({test::quire_binary(), "models", "inspect", path_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  const json& e = *entry_;
  EXPECT_EQ(out["gguf_version"], e["gguf_version"]);
  EXPECT_EQ(out["alignment"], e["alignment"]);
  EXPECT_EQ(out["tensor_data_start"], e["tensor_data_start"]);
  EXPECT_EQ(out["size"], e["size"]);

  ASSERT_EQ(out["metadata"].size(), e["metadata"].size());
  for (const auto& [key, expected] : e["metadata"].items()) {
    ASSERT_TRUE(out["metadata"].contains(key)) << key;
    const json& got = out["metadata"][key];
    if (expected.is_string()) {
      EXPECT_EQ(got["type"], "STRING") << key;
      EXPECT_TRUE(
          manifest_string_matches(got["value"].get<std::string>(), expected.get<std::string>()))
          << key;
    } else {
      EXPECT_EQ(got["type"], expected["type"]) << key;
      EXPECT_EQ(got["value"], expected["value"]) << key;
    }
  }
  EXPECT_EQ(out["arrays"], e["arrays"]);
  ASSERT_EQ(out["tensors"].size(), e["tensors"].size());
  for (size_t i = 0; i < e["tensors"].size(); ++i) {
    EXPECT_EQ(out["tensors"][i], e["tensors"][i]) << i;
  }

  // Summary keys use the GGUF names and agree with the metadata.
  const std::string arch = out["architecture"].is_string() ? out["architecture"] : "";
  for (const char* key :
       {"block_count", "embedding_length", "context_length", "feed_forward_length"}) {
    const std::string full = arch + "." + key;
    if (e["metadata"].contains(full)) {
      EXPECT_EQ(out[key], e["metadata"][full]["value"]) << key;
    }
  }
  if (e["metadata"].contains(arch + ".attention.head_count")) {
    EXPECT_EQ(out["head_count"], e["metadata"][arch + ".attention.head_count"]["value"]);
  }
  if (e["arrays"].contains("tokenizer.ggml.tokens")) {
    EXPECT_EQ(out["vocab_size"], e["arrays"]["tokenizer.ggml.tokens"]["length"]);
  }
  uint64_t bytes = 0, params = 0;
  for (const auto& t : e["tensors"]) {
    bytes += t["n_bytes"].get<uint64_t>();
    uint64_t n = 1;
    for (const auto& d : t["ne"]) n *= d.get<uint64_t>();
    params += n;
  }
  EXPECT_EQ(out["parameters"], params);
  if (out["memory"].contains("weights_bytes")) {
    EXPECT_EQ(out["memory"]["weights_bytes"], bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Manifest, GgufConformanceTest, testing::ValuesIn(manifest_files()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char c : info.param)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace quire::engine::gguf
