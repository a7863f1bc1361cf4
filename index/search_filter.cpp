#include "index/search_filter.h"

#include <algorithm>

#include "index/path_glob.h"

namespace quire::index {

bool SearchFilter::admits(int64_t document_id, std::string_view path) const {
  if (!document_ids.empty() &&
      std::find(document_ids.begin(), document_ids.end(), document_id) == document_ids.end()) {
    return false;
  }
  return admits_path(path);
}

bool SearchFilter::admits_path(std::string_view path) const {
  if (path_globs.empty()) return true;
  return std::any_of(path_globs.begin(), path_globs.end(),
                     [&](const std::string& glob) { return path_glob_match(glob, path); });
}

Status check_search_filter(const SearchFilter& filter) {
  for (size_t i = 0; i < filter.path_globs.size(); ++i) {
    QUIRE_RETURN_IF_ERROR(check_path_glob(filter.path_globs[i])
                              .with_context("search filter: path glob " + std::to_string(i)));
  }
  return ok_status();
}

}  // namespace quire::index
