// Text out of documents: the file type decides the source (sources/pdf.h, text.h, markdown.h,
// html.h); this is the dispatcher and the size and existence checks around it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/core/status.h"
#include "ingest/document.h"

namespace quire::ingest {

enum class SourceKind { kPdf, kText, kMarkdown, kHtml, kUnsupported };

// By extension (case-insensitive): .pdf, .txt, .md/.markdown, .html/.htm.
SourceKind source_kind(const std::string& path);

// Files larger than this (bytes) are refused before they are read.
inline constexpr int64_t kMaxSourceBytes = int64_t{200} << 20;

// Extracts the document whose file bytes are `bytes` (e.g. a MappedFile's bytes(): the caller
// maps a file once, hashes and extracts the same bytes). The kind comes from `path`'s extension;
// `path` is otherwise only quoted in messages and gives the fallback title. The bytes are read
// during the call only and never copied whole (PDFs are parsed in place).
//
// PDF text comes from poppler in reading order, one Page per PDF page (sources/pdf.h). Markdown
// is stripped lightly (heading marks, emphasis, link syntax, front matter; code kept as text);
// HTML loses its tags, <head>, <script> and <style>, has the common entities decoded, and block
// elements become paragraph breaks. Text files may be UTF-8 (with or without BOM) or UTF-16
// with a BOM; invalid UTF-8 is left for normalize.h to replace.
//
// Errors: kDataLoss for a broken or mislabeled file ("not a PDF (...)", "truncated or damaged
// PDF", binary data in a text file), kFailedPrecondition for a PDF without a text layer ("no
// extractable text (scanned image?)") or one that needs a password, kResourceExhausted for
// bytes over kMaxSourceBytes (or out of memory), kUnimplemented for an unsupported kind. Never
// throws. Calls for different files may run concurrently.
Result<ExtractedDocument> extract_document(const std::string& path, std::span<const uint8_t> bytes);

// Maps the file at `path` and extracts it as above. Also kNotFound for a missing file, and
// kResourceExhausted for a file over kMaxSourceBytes before it is mapped.
Result<ExtractedDocument> extract_document(const std::string& path);

}  // namespace quire::ingest
