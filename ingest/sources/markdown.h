// The Markdown source (.md, .markdown): light stripping to plain text, and the title.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "ingest/document.h"

namespace quire::ingest {

// Markdown to plain text, lightly: heading marks, emphasis and strike-through, link and image
// syntax (their text kept), reference definitions, block quote marks, table separators and
// YAML front matter go; code is kept as text, unchanged. Headings, list items and table rows
// become their own paragraphs. `*title` receives the front-matter title, else the first level-1
// heading (ATX or setext), else the first heading; "" when there is none. Inline constructs
// close within 1,000 bytes or are taken literally, so the work stays linear on long lines.
std::string strip_markdown(std::string_view text, std::string* title);

// One page holding strip_markdown() of the decoded `bytes` (text.h's decoding; the whole file,
// read only during the call), titled as ExtractedDocument::title says. kDataLoss for binary
// data. `path` is quoted in messages and gives the file-stem title. Thread-safe.
Result<ExtractedDocument> extract_markdown(const std::string& path, std::string_view bytes);

}  // namespace quire::ingest
