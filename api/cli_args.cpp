#include "api/cli_args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace quire::api {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::add_flag(const std::string& name, bool* out, const std::string& help) {
  flags_.push_back(Flag{name, out, nullptr, nullptr, "", help});
}

void ArgParser::add_option(const std::string& name, std::string* out, const std::string& metavar,
                           const std::string& help) {
  flags_.push_back(Flag{name, nullptr, out, nullptr, metavar, help});
}

void ArgParser::add_list_option(const std::string& name, std::vector<std::string>* out,
                                const std::string& metavar, const std::string& help) {
  flags_.push_back(Flag{name, nullptr, nullptr, out, metavar, help + " (repeatable)"});
}

void ArgParser::add_positional(const std::string& name, std::string* out, const std::string& help) {
  positionals_.push_back(Positional{name, out, help});
}

Status ArgParser::parse(std::span<const std::string> args) {
  size_t next_positional = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return ok_status();
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        has_value = true;
      }
      const Flag* flag = nullptr;
      for (const auto& f : flags_) {
        if (f.name == name) flag = &f;
      }
      if (flag == nullptr) {
        return invalid_argument_error("unknown option '--" + name + "' for " + command_ +
                                      " (see --help)");
      }
      if (flag->bool_out != nullptr) {
        if (has_value) return invalid_argument_error("option '--" + name + "' takes no value");
        *flag->bool_out = true;
        continue;
      }
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return invalid_argument_error("option '--" + name + "' needs a value (" + flag->metavar +
                                        ")");
        }
        value = args[++i];
      }
      if (flag->list_out != nullptr) {
        flag->list_out->push_back(value);
      } else {
        *flag->string_out = value;
      }
      continue;
    }
    if (next_positional >= positionals_.size()) {
      return invalid_argument_error("unexpected argument '" + arg + "' for " + command_ +
                                    " (see --help)");
    }
    *positionals_[next_positional++].out = arg;
  }
  if (next_positional < positionals_.size()) {
    return invalid_argument_error("missing argument " + positionals_[next_positional].name +
                                  " for " + command_ + " (see --help)");
  }
  return ok_status();
}

std::string ArgParser::help() const {
  std::string out = "usage: " + command_;
  for (const auto& p : positionals_) out += " " + p.name;
  if (!flags_.empty()) out += " [options]";
  out += "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) {
    out += "\narguments:\n";
    for (const auto& p : positionals_) {
      std::string left = "  " + p.name;
      left.resize(std::max<size_t>(left.size() + 2, 24), ' ');
      out += left + p.help + "\n";
    }
  }
  out += "\noptions:\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    left.resize(std::max<size_t>(left.size() + 2, 24), ' ');
    out += left + f.help + "\n";
  }
  out += "  -h, --help            show this help\n";
  return out;
}

Result<uint64_t> parse_uint(const std::string& text, const std::string& what) {
  if (text.empty() || text[0] < '0' || text[0] > '9') {
    return invalid_argument_error(what + ": '" + text + "' is not a non-negative integer");
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE || end == nullptr || *end != '\0') {
    return invalid_argument_error(what + ": '" + text + "' is not a non-negative integer");
  }
  return static_cast<uint64_t>(value);
}

Result<int64_t> parse_int(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno == ERANGE || end == nullptr || *end != '\0') {
    return invalid_argument_error(what + ": '" + text + "' is not an integer");
  }
  return static_cast<int64_t>(value);
}

Result<double> parse_double(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || errno == ERANGE || end == nullptr || *end != '\0' || !std::isfinite(value)) {
    return invalid_argument_error(what + ": '" + text + "' is not a number");
  }
  return value;
}

Result<int> parse_threads(const std::string& text) {
  if (text.empty()) return 0;
  QUIRE_ASSIGN_OR_RETURN(const uint64_t n, parse_uint(text, "--threads"));
  if (n == 0 || n > 1024) return invalid_argument_error("--threads: expected 1..1024");
  return static_cast<int>(n);
}

Result<int64_t> parse_ctx(const std::string& text) {
  if (text.empty()) return 0;
  QUIRE_ASSIGN_OR_RETURN(const uint64_t n, parse_uint(text, "--ctx"));
  if (n < 1 || n > (1u << 20)) return invalid_argument_error("--ctx: expected 1..1048576");
  return static_cast<int64_t>(n);
}

Result<retrieve::SearchMode> parse_search_mode(const std::string& text) {
  auto mode = retrieve::search_mode_from_name(text);
  if (!mode)
    return invalid_argument_error("--mode: '" + text + "', expected hybrid, dense or bm25");
  return *mode;
}

Result<std::optional<double>> parse_mmr_lambda(const std::string& text) {
  if (text.empty()) return std::optional<double>();
  QUIRE_ASSIGN_OR_RETURN(const double lambda, parse_double(text, "--mmr"));
  if (lambda < 0 || lambda > 1) {
    std::string message("--mmr: '");
    message += text;
    message += "' is outside [0, 1] (MMR's lambda: 1 ranks by relevance only, 0 by diversity only)";
    return invalid_argument_error(message);
  }
  return std::optional<double>(lambda);
}

Result<index::SearchFilter> parse_search_filter(const std::vector<std::string>& doc_ids,
                                                const std::vector<std::string>& path_globs) {
  index::SearchFilter filter;
  for (const std::string& id : doc_ids) {
    auto value = parse_uint(id, "--filter-doc");
    if (!value.ok() || *value == 0 || *value > static_cast<uint64_t>(INT64_MAX)) {
      std::string message("--filter-doc: '");
      message += id;
      message += "' is not a document id (a positive integer, as quire docs list shows)";
      return invalid_argument_error(message);
    }
    filter.document_ids.push_back(static_cast<int64_t>(*value));
  }
  filter.path_globs = path_globs;
  Status status = index::check_search_filter(filter);
  if (!status.ok()) return status.with_context("--filter-path");
  return filter;
}

}  // namespace quire::api
