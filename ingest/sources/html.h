// The HTML source (.html, .htm): tags out, text in, and the title.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "ingest/document.h"

namespace quire::ingest {

struct HtmlText {
  std::string text;      // document text: block elements separated by blank lines
  std::string title;     // <title>, spaces collapsed
  std::string first_h1;  // text of the first <h1>, spaces collapsed
};

// HTML to text: tags dropped; <head>, <script>, <style>, <noscript> and <template> dropped with
// their content; comments dropped, CDATA kept; character references decoded (numeric ones and
// the common names, unknown names left as they are); white space collapsed outside <pre>;
// block elements become paragraph breaks, <br> a line break, table cells a space.
HtmlText html_to_text(std::string_view html);

// One page holding html_to_text() of the decoded `bytes` (text.h's decoding; the whole file,
// read only during the call), titled by <title>, else the first <h1>, else as text. kDataLoss
// for binary data. `path` is quoted in messages and gives the file-stem title. Thread-safe.
Result<ExtractedDocument> extract_html(const std::string& path, std::string_view bytes);

}  // namespace quire::ingest
