#include "engine/runtime/bert_file.h"

#include "engine/arch/registry.h"

namespace quire::engine {

Result<BertFile> open_bert_file(const std::string& path, const std::string& role) {
  QUIRE_ASSIGN_OR_RETURN(gguf::GgufFile parsed, gguf::GgufFile::open(path));
  BertFile out;
  out.file = std::make_unique<gguf::GgufFile>(std::move(parsed));
  const std::string arch = out.file->architecture();
  const ArchEntry* entry = find_arch(arch);
  // Every encoder the registry runs uses the BERT graph (arch/bert.h).
  if (entry == nullptr || entry->kind != ArchKind::kEncoder || !entry->runs) {
    return unimplemented_error(
        "'" + path + "': architecture '" + arch + "' is not " + role +
        " quire supports (supported: " + arch_names(ArchKind::kEncoder) + ")");
  }
  QUIRE_ASSIGN_OR_RETURN(out.model, BertModel::load(*out.file));
  QUIRE_ASSIGN_OR_RETURN(out.tokenizer, make_tokenizer(*out.file));
  if (static_cast<int64_t>(out.tokenizer->vocab().size()) != out.model->hparams().n_vocab) {
    return failed_precondition_error(
        "'" + path + "': vocabulary has " + std::to_string(out.tokenizer->vocab().size()) +
        " tokens, token_embd.weight has " + std::to_string(out.model->hparams().n_vocab) + " rows");
  }
  return out;
}

}  // namespace quire::engine
