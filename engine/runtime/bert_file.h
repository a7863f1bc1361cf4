// Opening a BERT-family GGUF for the encoder runtimes (embedder.h, reranker.h): the file, the
// model and its tokenizer, checked to agree.
//
// Thread-safety: a pure function; the returned parts are owned by the caller.
#pragma once

#include <memory>
#include <string>

#include "engine/arch/bert.h"
#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

struct BertFile {
  std::unique_ptr<gguf::GgufFile> file;  // the model reads its tensors from this mapping
  std::unique_ptr<BertModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// kUnimplemented (naming `role`, e.g. "an embedding model") for an architecture that is not an
// encoder quire runs; the errors of BertModel::load; kFailedPrecondition when the vocabulary and
// token_embd.weight disagree.
Result<BertFile> open_bert_file(const std::string& path, const std::string& role);

}  // namespace quire::engine
