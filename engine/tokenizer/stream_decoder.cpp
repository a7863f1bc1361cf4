#include "engine/tokenizer/stream_decoder.h"

#include <utility>

namespace quire::engine {
namespace {

bool is_continuation(char c) {
  return (static_cast<uint8_t>(c) & 0xC0) == 0x80;
}

// The length a UTF-8 lead byte announces; 0 for a continuation byte, 1 for ASCII and for bytes
// that cannot start a sequence (0xF8-0xFF).
size_t announced_length(char c) {
  const auto byte = static_cast<uint8_t>(c);
  if (byte < 0x80) return 1;
  if (byte < 0xC0) return 0;
  if (byte < 0xE0) return 2;
  if (byte < 0xF0) return 3;
  if (byte < 0xF8) return 4;
  return 1;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool special)
    : tokenizer_(tokenizer), special_(special) {}

std::string StreamDecoder::push(TokenId id) {
  std::string piece = tokenizer_.token_to_piece(id, special_);
  if (first_) {
    first_ = false;
    if (tokenizer_.vocab().add_space_prefix && !piece.empty() && piece.front() == ' ') {
      piece.erase(0, 1);
    }
  }
  feed(piece);
  return take_complete();
}

std::string StreamDecoder::flush() {
  if (pass1_space_) {
    pass1_space_ = false;
    pass2(' ');
  }
  const Held held2 = std::exchange(pass2_held_, Held::kNothing);
  if (held2 != Held::kNothing) pass3(' ');
  if (held2 == Held::kSpaceQuote) pass3('\'');
  release_pass3();
  first_ = true;
  return std::exchange(ready_, {});
}

void StreamDecoder::feed(std::string_view bytes) {
  if (!tokenizer_.vocab().clean_spaces) {
    ready_ += bytes;
    return;
  }
  for (const char c : bytes) pass1(c);
}

// Pass 1: drop a space right before one of ? ! . , (so a space waits for the next byte).
void StreamDecoder::pass1(char c) {
  if (pass1_space_) {
    pass1_space_ = false;
    if (c != '?' && c != '!' && c != '.' && c != ',') pass2(' ');
  }
  if (c == ' ') {
    pass1_space_ = true;
  } else {
    pass2(c);
  }
}

// Pass 2: " ' " becomes "'". The space dropped after the apostrophe cannot begin another match
// (llama.cpp overwrites it with a NUL that the next comparison sees).
void StreamDecoder::pass2(char c) {
  switch (pass2_held_) {
    case Held::kSpaceQuote:
      pass2_held_ = Held::kNothing;
      if (c != ' ') pass3(' ');
      pass3('\'');
      // c is not a space, so it starts no match; the dropped space is gone.
      if (c != ' ') pass3(c);
      return;
    case Held::kSpace:
      if (c == '\'') {
        pass2_held_ = Held::kSpaceQuote;
        return;
      }
      pass3(' ');
      if (c == ' ') return;  // the new space is held in turn
      pass2_held_ = Held::kNothing;
      pass3(c);
      return;
    default:
      if (c == ' ') {
        pass2_held_ = Held::kSpace;
      } else {
        pass3(c);
      }
      return;
  }
}

void StreamDecoder::release_pass3() {
  switch (pass3_held_) {
    case Held::kSpace:
      ready_ += ' ';
      break;
    case Held::kSpaceQuote:
      ready_ += " '";
      break;
    case Held::kSpaceQuoteLetter:
      ready_ += " '";
      ready_ += pass3_letter_;
      break;
    case Held::kNothing:
      break;
  }
  pass3_held_ = Held::kNothing;
}

// Pass 3: drop the space before 's, 'm, 're, 've (not before 't, 'd or other apostrophes).
void StreamDecoder::pass3(char c) {
  switch (pass3_held_) {
    case Held::kSpaceQuoteLetter:
      if (c == 'e') {
        ready_ += '\'';
        ready_ += pass3_letter_;
        ready_ += c;
        pass3_held_ = Held::kNothing;
        return;
      }
      break;
    case Held::kSpaceQuote:
      if (c == 's' || c == 'm') {
        ready_ += '\'';
        ready_ += c;
        pass3_held_ = Held::kNothing;
        return;
      }
      if (c == 'r' || c == 'v') {
        pass3_held_ = Held::kSpaceQuoteLetter;
        pass3_letter_ = c;
        return;
      }
      break;
    case Held::kSpace:
      if (c == '\'') {
        pass3_held_ = Held::kSpaceQuote;
        return;
      }
      break;
    case Held::kNothing:
      break;
  }
  // No match: what was held stays as it was, and c may begin a new match.
  release_pass3();
  if (c == ' ') {
    pass3_held_ = Held::kSpace;
  } else {
    ready_ += c;
  }
}

std::string StreamDecoder::take_complete() {
  // Find the last character start within the final 3 bytes; hold it back if its sequence is
  // still short of the length its lead byte announces.
  size_t keep = 0;
  for (size_t back = 1; back <= 3 && back <= ready_.size(); ++back) {
    const char c = ready_[ready_.size() - back];
    if (is_continuation(c)) continue;
    if (announced_length(c) > back) keep = back;
    break;
  }
  std::string out = ready_.substr(0, ready_.size() - keep);
  ready_.erase(0, ready_.size() - keep);
  return out;
}

}  // namespace quire::engine
