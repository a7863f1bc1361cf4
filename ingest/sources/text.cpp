#include "ingest/sources/text.h"

#include <cstdint>
#include <string>
#include <utility>

#include "engine/core/utf8.h"
#include "ingest/title.h"

namespace quire::ingest {

std::string decode_text_bytes(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) return std::string(bytes.substr(3));
  const bool le = bytes.starts_with("\xFF\xFE");
  const bool be = bytes.starts_with("\xFE\xFF");
  if (!le && !be) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size());
  auto unit_at = [&](size_t i) -> uint32_t {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    return le ? (a | (b << 8)) : ((a << 8) | b);
  };
  for (size_t i = 2; i + 1 < bytes.size(); i += 2) {
    const uint32_t u = unit_at(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < bytes.size()) {
      const uint32_t low = unit_at(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, static_cast<int32_t>(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)));
        i += 2;
        continue;
      }
    }
    append_utf8(out, (u >= 0xD800 && u <= 0xDFFF) ? 0xFFFD : static_cast<int32_t>(u));
  }
  return out;
}

Status check_not_binary(const std::string& path, std::string_view text) {
  const size_t nul = text.substr(0, 8192).find('\0');
  if (nul != std::string_view::npos) {
    return data_loss_error("binary data in a text file: '" + path + "' has a NUL byte at offset " +
                           std::to_string(nul));
  }
  return ok_status();
}

Result<ExtractedDocument> extract_text(const std::string& path, std::string_view bytes) {
  std::string text = decode_text_bytes(bytes);
  QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
  ExtractedDocument out;
  out.title = text_document_title("", text, path);
  out.pages.push_back(Page{1, std::move(text)});
  return out;
}

}  // namespace quire::ingest
