#include "ingest/extract.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <string_view>

#include "engine/core/mmap_file.h"
#include "ingest/sources/html.h"
#include "ingest/sources/markdown.h"
#include "ingest/sources/pdf.h"
#include "ingest/sources/text.h"
#include "ingest/text_util.h"

namespace quire::ingest {
namespace {

Status unsupported_kind_error(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return unimplemented_error("unsupported file type '" + (ext.empty() ? "(none)" : ext) + "': '" +
                             path + "' (expected .pdf, .txt, .md, .markdown, .html or .htm)");
}

Status too_large_error(const std::string& path, int64_t size) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "file too large: %.1f MB, the limit is %lld MB: '",
                static_cast<double>(size) / (1 << 20),
                static_cast<long long>(kMaxSourceBytes >> 20));
  return resource_exhausted_error(buf + path + "'");
}

}  // namespace

SourceKind source_kind(const std::string& path) {
  const std::string ext = lower_ascii(std::filesystem::path(path).extension().string());
  if (ext == ".pdf") return SourceKind::kPdf;
  if (ext == ".txt") return SourceKind::kText;
  if (ext == ".md" || ext == ".markdown") return SourceKind::kMarkdown;
  if (ext == ".html" || ext == ".htm") return SourceKind::kHtml;
  return SourceKind::kUnsupported;
}

Result<ExtractedDocument> extract_document(const std::string& path,
                                           std::span<const uint8_t> bytes) {
  try {
    const SourceKind kind = source_kind(path);
    if (kind == SourceKind::kUnsupported) return unsupported_kind_error(path);
    if (static_cast<int64_t>(bytes.size()) > kMaxSourceBytes) {
      return too_large_error(path, static_cast<int64_t>(bytes.size()));
    }
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    switch (kind) {
      case SourceKind::kPdf:
        return extract_pdf(path, text);
      case SourceKind::kText:
        return extract_text(path, text);
      case SourceKind::kMarkdown:
        return extract_markdown(path, text);
      case SourceKind::kHtml:
        return extract_html(path, text);
      case SourceKind::kUnsupported:
        break;
    }
    return unsupported_kind_error(path);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("out of memory extracting '" + path + "'");
  } catch (const std::exception& e) {
    return internal_error("extracting '" + path + "': " + e.what());
  } catch (...) {
    return internal_error("extracting '" + path + "': unknown exception");
  }
}

Result<ExtractedDocument> extract_document(const std::string& path) {
  try {
    if (source_kind(path) == SourceKind::kUnsupported) return unsupported_kind_error(path);
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) return not_found_error("file not found: '" + path + "'");
    if (std::filesystem::is_regular_file(status)) {
      const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
      if (!ec && size > kMaxSourceBytes) return too_large_error(path, size);
    }
    Result<MappedFile> file = MappedFile::open(path);
    if (!file.ok()) return file.status().with_context("extracting '" + path + "'");
    return extract_document(path, file->bytes());
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("out of memory extracting '" + path + "'");
  } catch (const std::exception& e) {
    return internal_error("extracting '" + path + "': " + e.what());
  } catch (...) {
    return internal_error("extracting '" + path + "': unknown exception");
  }
}

}  // namespace quire::ingest
