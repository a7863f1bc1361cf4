// Which documents a search may return: by document id and by path glob (see path_glob.h).
//
// A chunk passes when its document passes every constraint that is set:
//   document_ids  empty: any document; else the document's id is one of them
//   path_globs    empty: any path; else the document's path matches at least one glob
// An empty filter (both empty) passes everything, and a search with it is the unfiltered one.
// A filter never costs recall: Store's searches return up to k hits from the documents that
// pass (see Store::search_dense and Store::search_bm25), not k hits filtered afterwards.
//
// Thread-safety: a plain value; admits() is const and may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace quire::index {

struct SearchFilter {
  std::vector<int64_t> document_ids;
  std::vector<std::string> path_globs;

  bool empty() const { return document_ids.empty() && path_globs.empty(); }
  // Whether the document with this id and path passes (document_ids is scanned linearly: for a
  // few ids; Store looks long lists up in SQLite instead).
  bool admits(int64_t document_id, std::string_view path) const;
  // Whether a path passes path_globs (true when there are none).
  bool admits_path(std::string_view path) const;
};

// kInvalidArgument naming the first bad glob (empty, or longer than kMaxPathGlobBytes).
Status check_search_filter(const SearchFilter& filter);

}  // namespace quire::index
