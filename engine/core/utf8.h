// UTF-8 encoding of code points, shared by the tokenizers, the chat templates and ingestion.
#pragma once

#include <string>

namespace quire {

// Appends the UTF-8 bytes of code point `cp` (1 to 4 bytes). Code points above U+10FFFF and
// surrogates are encoded as they come (callers validate when they must); no allocation besides
// the string's growth.
void append_utf8(std::string& out, char32_t cp);

}  // namespace quire
