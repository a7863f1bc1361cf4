// The plain-text source (.txt), and the byte decoding every text format shares.
#pragma once

#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "ingest/document.h"

namespace quire::ingest {

// UTF-8 (BOM dropped) as is; UTF-16 with a BOM (LE or BE) converted to UTF-8 (unpaired
// surrogates -> U+FFFD). Invalid UTF-8 is left for normalize.h to replace.
std::string decode_text_bytes(std::string_view bytes);

// kDataLoss "binary data in a text file" when the first 8 KiB of `text` hold a NUL byte.
// `path` is quoted in the message.
Status check_not_binary(const std::string& path, std::string_view text);

// One page holding the decoded text of `bytes` (the whole file, read only during the call);
// the title is the first meaningful line (title.h's text_document_title). kDataLoss for binary
// data. `path` is quoted in messages and gives the file-stem title. Thread-safe.
Result<ExtractedDocument> extract_text(const std::string& path, std::string_view bytes);

}  // namespace quire::ingest
