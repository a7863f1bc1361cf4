// Text out of documents: PDF (poppler-cpp, per page, in reading order), .txt, .md and .html.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace quire::ingest {

enum class SourceKind { kPdf, kText, kMarkdown, kHtml, kUnsupported };

// By extension (case-insensitive): .pdf, .txt, .md/.markdown, .html/.htm.
SourceKind source_kind(const std::string& path);

// Files larger than this (bytes) are refused before they are read.
inline constexpr int64_t kMaxSourceBytes = int64_t{200} << 20;

struct Page {
  int64_t number = 0;  // 1-based
  std::string text;    // raw extracted text (normalize.h cleans it)
};

struct ExtractedDocument {
  // PDF: the metadata Title when it looks real (not empty, not a file name such as
  // "Microsoft Word - x.doc" or "paper.dvi", and printed on page 1), else the largest-font line
  // at the top of page 1, else the first meaningful line of page 1. Markdown: front-matter title
  // or first heading; HTML: <title>, else the first <h1>; text: the first meaningful line.
  // Else the file name without its extension. One line, whitespace collapsed, NFC.
  std::string title;
  std::vector<Page> pages;  // PDF: one per page, numbered 1..n; text formats are one page
};

// PDF text comes from poppler in reading order (the layout `pdftotext` uses by default: columns
// one after the other), one Page per PDF page, empty pages kept so that numbers stay right.
// poppler's diagnostics are captured (never printed) and quoted in errors; they are logged at
// debug level otherwise. Markdown is stripped lightly (heading marks, emphasis, link syntax,
// front matter; code kept as text); HTML loses its tags, <head>, <script> and <style>, has the
// common entities decoded, and block elements become paragraph breaks. Text files may be UTF-8
// (with or without BOM) or UTF-16 with a BOM; invalid UTF-8 is left for normalize.h to replace.
//
// Errors: kDataLoss for a broken or mislabeled file ("not a PDF (...)", "truncated or damaged
// PDF", binary data in a text file), kFailedPrecondition for a PDF without a text layer ("no
// extractable text (scanned image?)") or one that needs a password, kResourceExhausted for a
// file over kMaxSourceBytes, kUnimplemented for an unsupported kind, kNotFound for a missing
// file. Never throws. Calls for different files may run concurrently.
Result<ExtractedDocument> extract_document(const std::string& path);

}  // namespace quire::ingest
