// Incremental detokenization: text for token ids as a decoder generates them, ready to print.
//
//   StreamDecoder stream(tokenizer);
//   for (TokenId id : generated) std::cout << stream.push(id) << std::flush;
//   std::cout << stream.flush();
//
// The concatenation of every push() and the final flush() equals
// tokenizer.decode(ids, /*remove_special=*/false, special) for any id sequence (ids out of range
// included), given that the tokenizer uses Tokenizer::decode as is (WordPiece and SentencePiece
// do). It reproduces that function step by step:
//  - each id's piece is tokenizer.token_to_piece(id, special);
//  - with vocab().add_space_prefix, one leading space of the first id's piece is dropped (and
//    only the first id's, even when its piece is empty);
//  - with vocab().clean_spaces, llama.cpp's three space clean-up passes (a space before ?!., is
//    dropped; " ' " becomes "'"; a space before 's 'm 're 've is dropped) run as small state
//    machines, one after the other, each holding back at most three bytes until the next
//    bytes decide whether a space goes. So a space (and an apostrophe, and an "r" or "v" after
//    one) may come out one token late; flush() releases them.
// Then push() returns only whole UTF-8 characters: the bytes of a character still incomplete at
// the end (a lead byte and fewer continuation bytes than it announces, e.g. an emoji spread over
// byte tokens <0xF0> <0x9F> <0xA6> <0x99>) wait for the next push. Bytes that cannot become
// valid UTF-8 (a stray continuation byte, a lead byte followed by a non-continuation byte) are
// passed through as they are, not held back forever.
//
// Holds a reference to the tokenizer, which must outlive it. Not thread-safe; one per stream.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

class StreamDecoder {
 public:
  // special: render control and unknown tokens as their text (token_to_piece's `special`).
  explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false);

  // The text that `id` completes: possibly empty, always ending on a UTF-8 character boundary
  // unless the bytes before it are invalid UTF-8 (see above).
  std::string push(TokenId id);

  // Ends the stream: everything still held back, an incomplete UTF-8 sequence included as is.
  // The decoder is then as new, and the next push() starts another stream.
  std::string flush();

 private:
  // Runs the clean-up passes (or none) on piece bytes; their output goes to ready_.
  void feed(std::string_view bytes);
  void pass1(char c);
  void pass2(char c);
  void pass3(char c);
  // Appends the bytes pass 3 holds to ready_ and forgets them.
  void release_pass3();
  // Moves the whole characters at the front of ready_ to the result.
  std::string take_complete();

  const Tokenizer& tokenizer_;
  bool special_;
  bool first_ = true;
  // Clean-up state: the bytes each pass holds back.
  enum class Held : uint8_t {
    kNothing,
    kSpace,             // " "
    kSpaceQuote,        // " '"
    kSpaceQuoteLetter,  // " 'r" or " 'v" (pass 3 only; the letter in pass3_letter_)
  };
  bool pass1_space_ = false;  // a space, dropped if one of ?!., follows
  Held pass2_held_ = Held::kNothing;
  Held pass3_held_ = Held::kNothing;
  char pass3_letter_ = 0;
  std::string ready_;  // cleaned bytes not yet returned (an incomplete UTF-8 tail)
};

}  // namespace quire::engine
