// What the sources extract from a file: its pages of raw text and a title.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quire::ingest {

struct Page {
  int64_t number = 0;  // 1-based
  std::string text;    // raw extracted text (normalize.h cleans it)
};

struct ExtractedDocument {
  // PDF: the metadata Title when it looks real (not empty, not a file name such as
  // "Microsoft Word - x.doc" or "paper.dvi", and printed on page 1), else the largest-font line
  // at the top of page 1, else the first meaningful line of page 1. Markdown: front-matter title
  // or first heading; HTML: <title>, else the first <h1>; text: the first meaningful line.
  // Else the file name without its extension. One line, whitespace collapsed, NFC (title.h).
  std::string title;
  std::vector<Page> pages;  // PDF: one per page, numbered 1..n; text formats are one page
};

}  // namespace quire::ingest
