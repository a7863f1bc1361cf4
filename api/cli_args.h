// A small command-line parser for the quire subcommands.
//
// Flags are declared with the variable they fill; parse() accepts `--name value`, `--name=value`
// and bare boolean flags; a list option may be given several times (each value is appended), and
// fails with kInvalidArgument naming the flag for unknown flags, missing values, missing
// positionals or surplus arguments. `-h`/`--help` sets help_requested().
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/search_filter.h"
#include "retrieve/retriever.h"

namespace quire::api {

class ArgParser {
 public:
  // `command` is e.g. "quire models inspect", `summary` one line on what it does.
  ArgParser(std::string command, std::string summary);

  void add_flag(const std::string& name, bool* out, const std::string& help);
  void add_option(const std::string& name, std::string* out, const std::string& metavar,
                  const std::string& help);
  // Repeatable: every `--name value` appends value to *out.
  void add_list_option(const std::string& name, std::vector<std::string>* out,
                       const std::string& metavar, const std::string& help);
  void add_positional(const std::string& name, std::string* out, const std::string& help);

  Status parse(std::span<const std::string> args);
  bool help_requested() const { return help_requested_; }
  std::string help() const;

 private:
  struct Flag {
    std::string name;  // without the leading "--"
    bool* bool_out = nullptr;
    std::string* string_out = nullptr;
    std::vector<std::string>* list_out = nullptr;
    std::string metavar;
    std::string help;
  };
  struct Positional {
    std::string name;
    std::string* out;
    std::string help;
  };

  std::string command_;
  std::string summary_;
  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
  bool help_requested_ = false;
};

// Parses a non-negative integer option value; `what` names the flag in the error.
Result<uint64_t> parse_uint(const std::string& text, const std::string& what);
// A (possibly negative) integer option value.
Result<int64_t> parse_int(const std::string& text, const std::string& what);
// A finite number option value ("0.8", "1e-3").
Result<double> parse_double(const std::string& text, const std::string& what);

// --threads N: 1..1024; "" gives 0 (all CPUs).
Result<int> parse_threads(const std::string& text);
// --ctx N: 1..1048576; "" gives 0 (the model's).
Result<int64_t> parse_ctx(const std::string& text);
// --mode hybrid|dense|bm25.
Result<retrieve::SearchMode> parse_search_mode(const std::string& text);
// --mmr L: MMR's λ, a number in [0, 1]; "" gives nullopt (MMR off).
Result<std::optional<double>> parse_mmr_lambda(const std::string& text);
// --filter-doc ID (document ids, each a positive integer) and --filter-path GLOB (path globs,
// index/path_glob.h), repeatable, into one filter; kInvalidArgument naming the bad value.
Result<index::SearchFilter> parse_search_filter(const std::vector<std::string>& doc_ids,
                                                const std::vector<std::string>& path_globs);

}  // namespace quire::api
