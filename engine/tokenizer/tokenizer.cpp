#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <utility>

#include "engine/gguf/gguf_names.h"
#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/spm.h"
#include "engine/tokenizer/wordpiece.h"

namespace quire::engine {
namespace {

using gguf::Array;
using gguf::Value;
using gguf::ValueType;

constexpr std::string_view kModelKey = gguf::kKvTokenizerModel;
constexpr std::string_view kTokensKey = gguf::kKvTokenizerList;
constexpr std::string_view kBosIdKey = gguf::kKvTokenizerBosId;

// What llama.cpp assumes for a model when the file says nothing (llama_vocab::impl::load).
struct ModelDefaults {
  std::string_view model;
  TokenId bos, eos, unk, sep, pad, mask;
  bool add_bos, add_eos, add_space_prefix, clean_spaces;
};
constexpr ModelDefaults kModelDefaults[] = {
    // model   bos  eos  unk  sep  pad mask add_bos add_eos space_prefix clean_spaces
    {"llama", 1, 2, 0, -1, -1, -1, true, false, true, false},
    {"bert", 101, -1, 100, 102, 0, 103, true, false, false, true},
    {"gpt2", 11, 11, -1, -1, -1, -1, false, false, false, true},
};
constexpr ModelDefaults kNoDefaults = {"", -1, -1, -1, -1, -1, -1, false, false, false, false};

const ModelDefaults& defaults_for(std::string_view model) {
  for (const ModelDefaults& d : kModelDefaults) {
    if (d.model == model) return d;
  }
  return kNoDefaults;
}

// The special-token id keys.
struct SpecialIdKey {
  std::string_view key;
  TokenId Vocab::*field;
};
constexpr SpecialIdKey kSpecialIdKeys[] = {
    {gguf::kKvTokenizerBosId, &Vocab::bos},   {gguf::kKvTokenizerEosId, &Vocab::eos},
    {gguf::kKvTokenizerUnkId, &Vocab::unk},   {gguf::kKvTokenizerSepId, &Vocab::sep},
    {gguf::kKvTokenizerPadId, &Vocab::pad},   {gguf::kKvTokenizerClsId, &Vocab::cls},
    {gguf::kKvTokenizerMaskId, &Vocab::mask}, {gguf::kKvTokenizerEotId, &Vocab::eot},
};

struct FlagKey {
  std::string_view key;
  bool Vocab::*field;
};
constexpr FlagKey kFlagKeys[] = {
    {gguf::kKvTokenizerAddBos, &Vocab::add_bos},
    {gguf::kKvTokenizerAddEos, &Vocab::add_eos},
    {gguf::kKvTokenizerAddPrefix, &Vocab::add_space_prefix},
};

std::string type_description(const Value& value) {
  std::string out(gguf::value_type_name(value.type()));
  if (const Array* array = value.as_array()) {
    out += " of ";
    out += gguf::value_type_name(array->elem_type);
  }
  return out;
}

Status wrong_type(std::string_view key, std::string_view expected, const Value& got) {
  return data_loss_error(std::string(key) + ": expected " + std::string(expected) + ", got " +
                         type_description(got));
}

// The array under `key` with string elements; nullptr (and OK) when absent.
Result<const Array*> find_string_array(const gguf::GgufFile& file, std::string_view key) {
  const Value* value = file.find(key);
  if (value == nullptr) return static_cast<const Array*>(nullptr);
  const Array* array = value->as_array();
  if (array == nullptr || array->elem_type != ValueType::kString) {
    return wrong_type(key, "ARRAY of STRING", *value);
  }
  return array;
}

bool is_numeric(ValueType type) {
  return type != ValueType::kString && type != ValueType::kArray && type != ValueType::kBool;
}

// A numeric array under `key` of exactly n_tokens elements; nullptr (and OK) when absent.
Result<const Array*> find_per_token_array(const gguf::GgufFile& file, std::string_view key,
                                          size_t n_tokens) {
  const Value* value = file.find(key);
  if (value == nullptr) return static_cast<const Array*>(nullptr);
  const Array* array = value->as_array();
  if (array == nullptr || !is_numeric(array->elem_type)) {
    return wrong_type(key, "ARRAY of numbers", *value);
  }
  if (array->size() != n_tokens) {
    return data_loss_error(std::string(key) + ": " + std::to_string(array->size()) +
                           " entries, expected " + std::to_string(n_tokens) +
                           " (one per token in " + std::string(kTokensKey) + ")");
  }
  return array;
}

std::string out_of_range_message(std::string_view key, const std::string& id, size_t n_tokens) {
  return std::string(key) + ": token id " + id + " out of range, vocabulary has " +
         std::to_string(n_tokens) + " tokens";
}

// llama.cpp's clean_spaces, three passes over the bytes, each reading the previous pass's output:
//  1. drop a space before one of ? ! . ,
//  2. " ' " becomes "'" (both spaces dropped); the dropped right space no longer counts as the
//     space before the next character;
//  3. drop a space before 's 'm 're 've (the apostrophe starting a contraction).
// The first byte is never removed.
std::string clean_up_spaces(std::string text) {
  if (text.size() < 2) return text;

  std::string pass1;
  pass1.reserve(text.size());
  pass1 += text[0];
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (text[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ',')) pass1.pop_back();
    pass1 += c;
  }

  std::string pass2;
  pass2.reserve(pass1.size());
  pass2 += pass1[0];
  bool prev_is_space = pass1[0] == ' ';
  for (size_t i = 1; i < pass1.size(); ++i) {
    const char c = pass1[i];
    if (c == '\'' && prev_is_space && i + 1 < pass1.size() && pass1[i + 1] == ' ') {
      pass2.pop_back();
      pass2 += c;
      ++i;  // the space after the apostrophe is dropped too
      prev_is_space = false;
      continue;
    }
    pass2 += c;
    prev_is_space = c == ' ';
  }

  std::string pass3;
  pass3.reserve(pass2.size());
  pass3 += pass2[0];
  for (size_t i = 1; i < pass2.size(); ++i) {
    const char c = pass2[i];
    if (c == '\'' && pass2[i - 1] == ' ' && i + 1 < pass2.size()) {
      const char next = pass2[i + 1];
      const char after = i + 2 < pass2.size() ? pass2[i + 2] : '\0';
      if (next == 's' || next == 'm' || ((next == 'r' || next == 'v') && after == 'e')) {
        pass3.pop_back();
      }
    }
    pass3 += c;
  }
  return pass3;
}

}  // namespace

bool Vocab::is_special(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= types.size()) return false;
  return types[id] == TokenType::kControl || types[id] == TokenType::kUnknown;
}

Result<Vocab> Vocab::from_gguf(const gguf::GgufFile& file) {
  Vocab vocab;

  const Value* model = file.find(kModelKey);
  if (model == nullptr) {
    return not_found_error(std::string(kModelKey) + ": key not found (the file has no tokenizer)");
  }
  if (model->as_string() == nullptr) return wrong_type(kModelKey, "STRING", *model);
  vocab.model = *model->as_string();
  if (const Value* pre = file.find(gguf::kKvTokenizerPre)) {
    if (pre->as_string() == nullptr) return wrong_type(gguf::kKvTokenizerPre, "STRING", *pre);
    vocab.pre = *pre->as_string();
  }

  QUIRE_ASSIGN_OR_RETURN(const Array* tokens, find_string_array(file, kTokensKey));
  if (tokens == nullptr) return not_found_error(std::string(kTokensKey) + ": key not found");
  const size_t n = tokens->strings.size();
  if (n == 0) return data_loss_error(std::string(kTokensKey) + ": empty vocabulary");
  if (n > static_cast<size_t>(std::numeric_limits<TokenId>::max())) {
    return data_loss_error(std::string(kTokensKey) + ": " + std::to_string(n) +
                           " tokens, more than token ids can address");
  }
  vocab.tokens = tokens->strings;

  QUIRE_ASSIGN_OR_RETURN(const Array* scores,
                         find_per_token_array(file, gguf::kKvTokenizerScores, n));
  if (scores != nullptr) {
    vocab.scores.resize(n);
    for (size_t i = 0; i < n; ++i) vocab.scores[i] = static_cast<float>(*scores->number_at(i));
  }

  vocab.types.assign(n, TokenType::kNormal);
  QUIRE_ASSIGN_OR_RETURN(const Array* types,
                         find_per_token_array(file, gguf::kKvTokenizerTokenType, n));
  if (types != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      const double t = *types->number_at(i);
      if (!(t >= static_cast<double>(TokenType::kUndefined) &&
            t <= static_cast<double>(TokenType::kByte)) ||
          t != static_cast<double>(static_cast<int32_t>(t))) {
        char got[32];
        std::snprintf(got, sizeof(got), "%g", t);
        return data_loss_error(std::string(gguf::kKvTokenizerTokenType) + "[" + std::to_string(i) +
                               "]: token type " + got + ", expected 0..6");
      }
      vocab.types[i] = static_cast<TokenType>(static_cast<int32_t>(t));
    }
  }

  QUIRE_ASSIGN_OR_RETURN(const Array* merges, find_string_array(file, gguf::kKvTokenizerMerges));
  if (merges != nullptr) vocab.merges = merges->strings;

  const ModelDefaults& defaults = defaults_for(vocab.model);
  vocab.bos = defaults.bos;
  vocab.eos = defaults.eos;
  vocab.unk = defaults.unk;
  vocab.sep = defaults.sep;
  vocab.pad = defaults.pad;
  vocab.mask = defaults.mask;
  vocab.add_bos = defaults.add_bos;
  vocab.add_eos = defaults.add_eos;
  vocab.add_space_prefix = defaults.add_space_prefix;
  vocab.clean_spaces = defaults.clean_spaces;
  // llama.cpp's BPE defaults also depend on tokenizer.ggml.pre (an unknown value is left for
  // the BPE tokenizer to reject).
  if (vocab.model == "gpt2") {
    if (Result<PreTokenizerSpec> pre = find_pre_tokenizer(vocab.pre); pre.ok()) {
      vocab.clean_spaces = pre->clean_spaces;
      vocab.add_bos = pre->add_bos;
    }
  }
  for (const SpecialIdKey& special : kSpecialIdKeys) {
    TokenId& id = vocab.*special.field;
    // A default the (possibly truncated) vocabulary does not reach means "none".
    if (id >= 0 && static_cast<size_t>(id) >= n) id = -1;
    const Value* value = file.find(special.key);
    if (value == nullptr) continue;
    const std::optional<int64_t> got = value->as_int();
    if (!got.has_value()) {
      if (const std::optional<uint64_t> huge = value->as_uint()) {
        return data_loss_error(out_of_range_message(special.key, std::to_string(*huge), n));
      }
      return wrong_type(special.key, "an integer", *value);
    }
    if (*got < 0 || static_cast<uint64_t>(*got) >= n) {
      return data_loss_error(out_of_range_message(special.key, std::to_string(*got), n));
    }
    id = static_cast<TokenId>(*got);
  }
  if (vocab.cls >= 0 && file.find(kBosIdKey) == nullptr) vocab.bos = vocab.cls;
  for (const FlagKey& flag : kFlagKeys) {
    const Value* value = file.find(flag.key);
    if (value == nullptr) continue;
    const std::optional<bool> got = value->as_bool();
    if (!got.has_value()) return wrong_type(flag.key, "BOOL", *value);
    vocab.*flag.field = *got;
  }

  vocab.index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!vocab.tokens[i].empty()) vocab.index[vocab.tokens[i]] = static_cast<TokenId>(i);
  }
  return vocab;
}

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  for (size_t i = 0; i < vocab_.size(); ++i) {
    const TokenType type = vocab_.types[i];
    if ((type == TokenType::kControl || type == TokenType::kUnknown ||
         type == TokenType::kUserDefined) &&
        !vocab_.tokens[i].empty()) {
      special_by_length_.push_back(static_cast<TokenId>(i));
    }
  }
  std::stable_sort(
      special_by_length_.begin(), special_by_length_.end(),
      [this](TokenId a, TokenId b) { return vocab_.tokens[a].size() > vocab_.tokens[b].size(); });
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special(std::string_view text,
                                                          bool parse_special) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({text, -1});
  std::vector<Fragment> next;
  for (const TokenId id : special_by_length_) {
    if (!parse_special && vocab_.types[id] != TokenType::kUserDefined) continue;
    const std::string& spelling = vocab_.tokens[id];
    next.clear();
    for (const Fragment& fragment : fragments) {
      if (fragment.token >= 0) {
        next.push_back(fragment);
        continue;
      }
      std::string_view rest = fragment.text;
      for (size_t at = rest.find(spelling); at != std::string_view::npos;
           at = rest.find(spelling)) {
        if (at > 0) next.push_back({rest.substr(0, at), -1});
        next.push_back({rest.substr(at, spelling.size()), id});
        rest.remove_prefix(at + spelling.size());
      }
      if (!rest.empty()) next.push_back({rest, -1});
    }
    fragments.swap(next);
  }
  return fragments;
}

std::string Tokenizer::token_to_piece(TokenId id, bool special) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return {};
  const std::string& text = vocab_.tokens[id];
  switch (vocab_.types[id]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      return special ? text : std::string();
    case TokenType::kUserDefined:
      return text;
    case TokenType::kNormal:
      return normal_piece(text);
    case TokenType::kByte:
      return byte_piece(text);
    default:
      return {};
  }
}

std::string Tokenizer::normal_piece(const std::string& text) const {
  std::string piece;
  piece.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      piece += ' ';
      i += kSpaceMark.size();
    } else {
      piece += text[i++];
    }
  }
  return piece;
}

std::string Tokenizer::byte_piece(const std::string& /*text*/) const {
  return {};
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool remove_special,
                              bool unparse_special) const {
  bool strip_leading_space = vocab_.add_space_prefix;
  if (remove_special && vocab_.add_bos && !ids.empty() && ids.front() == vocab_.bos) {
    strip_leading_space = false;
    ids = ids.subspan(1);
  }
  if (remove_special && vocab_.add_eos && !ids.empty() && ids.back() == vocab_.eos) {
    ids = ids.first(ids.size() - 1);
  }
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = token_to_piece(ids[i], unparse_special);
    // Only the first token's piece loses its space, even when that piece is empty.
    if (i == 0 && strip_leading_space && !piece.empty() && piece.front() == ' ') {
      piece.erase(0, 1);
    }
    text += piece;
  }
  if (vocab_.clean_spaces) text = clean_up_spaces(std::move(text));
  return text;
}

namespace {

// One entry per tokenizer.ggml.model value llama.cpp knows (a file without a tokenizer says
// "none"); implemented ones first, in the order messages list them.
constexpr TokenizerKind kTokenizerKinds[] = {
    {"bert", "WordPiece", &WordPieceTokenizer::create},
    {"llama", "SentencePiece", &SpmTokenizer::create},
    {"gpt2", "BPE (byte-level)", &BpeTokenizer::create},
    {"t5", "Unigram (T5)", nullptr},
    {"rwkv", "RWKV", nullptr},
};

std::string implemented_models() {
  std::string out;
  for (const TokenizerKind& entry : kTokenizerKinds) {
    if (entry.make == nullptr) continue;
    if (!out.empty()) out += ", ";
    out += entry.model;
  }
  return out;
}

}  // namespace

std::span<const TokenizerKind> tokenizer_kinds() {
  return kTokenizerKinds;
}

const TokenizerKind* find_tokenizer_kind(std::string_view model) {
  for (const TokenizerKind& entry : kTokenizerKinds) {
    if (entry.model == model) return &entry;
  }
  return nullptr;
}

std::string tokenizer_kind_name(std::string_view model) {
  if (model.empty() || model == "none") return "none";
  if (const TokenizerKind* entry = find_tokenizer_kind(model)) return std::string(entry->name);
  return "unknown (" + std::string(model) + ")";
}

Result<std::unique_ptr<Tokenizer>> make_tokenizer(Vocab vocab) {
  const TokenizerKind* entry = find_tokenizer_kind(vocab.model);
  if (entry == nullptr) {
    return unimplemented_error(std::string(kModelKey) + " '" + vocab.model +
                               "': unknown tokenizer model (implemented: " + implemented_models() +
                               ")");
  }
  if (entry->make == nullptr) {
    return unimplemented_error(
        std::string(kModelKey) + " '" + vocab.model + "': the " + std::string(entry->name) +
        " tokenizer is not implemented yet (implemented: " + implemented_models() + ")");
  }
  const std::string model = vocab.model;
  Result<std::unique_ptr<Tokenizer>> tokenizer = entry->make(std::move(vocab));
  if (!tokenizer.ok()) {
    return tokenizer.status().with_context(std::string(entry->name) + " tokenizer for '" + model +
                                           "'");
  }
  return tokenizer;
}

Result<std::unique_ptr<Tokenizer>> make_tokenizer(const gguf::GgufFile& file) {
  Result<Vocab> vocab = Vocab::from_gguf(file);
  if (!vocab.ok()) return vocab.status().with_context(file.source());
  Result<std::unique_ptr<Tokenizer>> tokenizer = make_tokenizer(std::move(vocab).value());
  if (!tokenizer.ok()) return tokenizer.status().with_context(file.source());
  return tokenizer;
}

}  // namespace quire::engine
