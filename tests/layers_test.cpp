// The dependency rules of DESIGN.md, read from the sources: every quoted #include of engine/,
// index/, ingest/, retrieve/, generate/ and api/ must name a file of a folder its own folder may
// depend on. The engine's folders form one order (core lowest, runtime highest) and each may
// include only its own folder and those below it.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace quire {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kEngineLayers = {"core",  "quant",     "gguf",   "kernels",
                                                "ops",   "tokenizer", "chat",   "sampling",
                                                "model", "arch",      "runtime"};

// Top-level folders and the folders they may include (besides their own). "engine" means any
// engine folder; the engine's own order is checked separately.
const std::map<std::string, std::set<std::string>> kTopLevel = {
    {"engine", {}},
    {"index", {"engine"}},
    {"ingest", {"engine", "index"}},
    {"retrieve", {"engine", "index"}},
    {"generate", {"engine", "index", "retrieve"}},
    {"api", {"engine", "index", "ingest", "retrieve", "generate"}},
};

// "engine/<layer>" for engine files, else the top-level folder; "" outside the checked folders.
std::string folder_of(const std::string& rel) {
  const size_t slash = rel.find('/');
  if (slash == std::string::npos) return "";
  const std::string top = rel.substr(0, slash);
  if (top != "engine") return kTopLevel.count(top) ? top : "";
  const size_t next = rel.find('/', slash + 1);
  if (next == std::string::npos) return "";
  return "engine/" + rel.substr(slash + 1, next - slash - 1);
}

int engine_rank(const std::string& folder) {
  const std::string layer = folder.substr(std::string("engine/").size());
  auto it = std::find(kEngineLayers.begin(), kEngineLayers.end(), layer);
  return it == kEngineLayers.end() ? -1 : static_cast<int>(it - kEngineLayers.begin());
}

// The path of a `#include "..."` line, or "" for any other line. (A hand parser: std::regex
// trips GCC 12's -Wmaybe-uninitialized under the sanitizer build.)
std::string quoted_include(const std::string& line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string::npos || line[i] != '#') return "";
  i = line.find_first_not_of(" \t", i + 1);
  if (i == std::string::npos || line.compare(i, 7, "include") != 0) return "";
  i = line.find_first_not_of(" \t", i + 7);
  if (i == std::string::npos || line[i] != '"') return "";
  const size_t end = line.find('"', i + 1);
  if (end == std::string::npos || end == i + 1) return "";
  return line.substr(i + 1, end - i - 1);
}

// One message per include that breaks a rule, as "file:line: ...".
std::vector<std::string> layer_violations(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& [top, allowed] : kTopLevel) {
    if (!fs::exists(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file()) continue;
      const std::string ext = entry.path().extension().string();
      if (ext != ".h" && ext != ".cpp") continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      const std::string from = folder_of(rel);
      if (from.starts_with("engine/") && engine_rank(from) < 0) {
        out.push_back(rel + ": folder " + from + " is not in the engine's layer list");
        continue;
      }
      std::ifstream in(entry.path());
      std::string line;
      int line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        const std::string target = quoted_include(line);
        if (target.empty()) continue;
        const std::string where = rel + ":" + std::to_string(line_no) + ": ";
        if (!fs::exists(root / target)) {
          out.push_back(where + "\"" + target +
                        "\" is not a path from the repository root (includes are root-relative)");
          continue;
        }
        const std::string to = folder_of(target);
        if (to.empty()) {
          out.push_back(where + "includes \"" + target + "\", outside the library folders");
          continue;
        }
        if (to == from) continue;
        const bool from_engine = from.starts_with("engine/");
        const bool to_engine = to.starts_with("engine/");
        if (from_engine && to_engine) {
          if (engine_rank(to) < 0 || engine_rank(to) > engine_rank(from)) {
            out.push_back(where + from + " may not include " + to + " (\"" + target +
                          "\"): it is above " + from + " in the engine's layers");
          }
          continue;
        }
        const std::string from_top = from_engine ? "engine" : from;
        const std::string to_top = to_engine ? "engine" : to;
        if (from_top == to_top) continue;
        if (!kTopLevel.at(from_top).count(to_top)) {
          out.push_back(where + from_top + "/ may not include " + to_top + "/ (\"" + target +
                        "\"): not one of DESIGN.md's arrows");
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(LayersTest, SourceTreeFollowsTheDependencyRules) {
  const fs::path root = test::source_dir();
  ASSERT_TRUE(fs::exists(root / "engine/core")) << root;
  const auto violations = layer_violations(root);
  EXPECT_TRUE(violations.empty()) << joined(violations);
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The checker itself: a tree with two allowed includes and four broken ones.
TEST(LayersTest, ReportsBackArrowsAndUnknownPaths) {
  test::TempDir dir;
  const fs::path root = dir.path();
  write(root / "engine/core/status.h", "#pragma once\n");
  write(root / "engine/quant/blocks.h", "#include \"engine/core/status.h\"\n");
  write(root / "engine/runtime/generator.h", "#include \"engine/quant/blocks.h\"\n");
  write(root / "engine/core/bad.cpp", "  #include \"engine/runtime/generator.h\"\n");
  write(root / "index/store.h", "#include \"engine/core/status.h\"\n");
  write(root / "index/store.cpp", "#include \"api/server.h\"\n#include \"index/store.h\"\n");
  write(root / "api/server.h", "#include \"index/store.h\"\n");
  write(root / "ingest/chunker.h", "\n");
  write(root / "ingest/chunker.cpp", "#include \"chunker.h\"\n");
  write(root / "engine/widgets/w.h", "\n");

  const auto v = layer_violations(root);
  ASSERT_EQ(v.size(), 4u) << joined(v);
  EXPECT_NE(v[0].find("engine/core/bad.cpp:1: engine/core may not include engine/runtime"),
            std::string::npos)
      << v[0];
  EXPECT_NE(v[1].find("engine/widgets/w.h: folder engine/widgets is not in the engine's layer"),
            std::string::npos)
      << v[1];
  EXPECT_NE(v[2].find("index/store.cpp:1: index/ may not include api/"), std::string::npos) << v[2];
  EXPECT_NE(v[3].find("ingest/chunker.cpp:1: \"chunker.h\" is not a path from the repository"),
            std::string::npos)
      << v[3];
}

}  // namespace
}  // namespace quire
