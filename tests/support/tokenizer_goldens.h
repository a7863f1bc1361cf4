// Checks of a tokenizer against llama.cpp's tokenizer goldens in ../shared/conformance: the
// tokens.jsonl files (six fields per text) and the .inp/.out cases of the vocab GGUFs. Shared by
// the WordPiece, SentencePiece and BPE tests.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace quire::test {

// shared_dir() + "/conformance/" + relative.
std::string conformance_path(const std::string& relative);

// The tokenizer of a GGUF file; nullptr (after a failed EXPECT) when it cannot be made.
std::unique_ptr<engine::Tokenizer> load_tokenizer(const std::string& path);

// Every line of a tokens.jsonl against the tokenizer: ids_add_special, ids_no_special,
// ids_add_special_parse_special, detok_no_special, detok_add_special_removed and
// pieces_hex_no_special (EXPECTs per field). Returns the lines equal in all six; *lines = lines.
size_t check_tokens_jsonl(const engine::Tokenizer& tokenizer, const std::string& path,
                          size_t* lines);

// Every case of conformance/vocab/<vocab_file>.inp against <vocab_file>.out (add_special and
// parse_special off, as llama.cpp's test-tokenizer-0); asserts there are 46 cases, EXPECTs each,
// prints the count that pass.
void check_inp_out(const engine::Tokenizer& tokenizer, const std::string& vocab_file);

}  // namespace quire::test
