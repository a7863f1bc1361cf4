// Helpers shared by the tests: where ../shared is, running the quire binary, temp files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::test {

// QUIRE_SHARED_DIR if set, else <repository>/../shared. Empty when the folder does not exist.
std::string shared_dir();

// Skips the current test, with the reason, when ../shared is absent.
#define QUIRE_REQUIRE_SHARED()                                                        \
  do {                                                                                \
    if (::quire::test::shared_dir().empty())                                          \
      GTEST_SKIP() << "../shared not found (set QUIRE_SHARED_DIR): conformance data " \
                      "unavailable";                                                  \
  } while (0)

// The repository's root (where this build's sources are).
std::string source_dir();

// Path of the built `quire` executable.
std::string quire_binary();

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments, capturing stdout and stderr (no shell involved).
CommandResult run_command(const std::vector<std::string>& argv);

// A fresh directory under $TMPDIR, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file(const std::string& path);
std::string read_text_file(const std::string& path);

}  // namespace quire::test
