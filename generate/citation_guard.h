// The citation guard: constrained decoding that makes an answer unable to cite a source that
// does not exist. After the model opens a "[", only tokens that continue a valid source number
// (1..n_sources), a separator ("," ";" " "), a range dash ("-" "–" "—") or the closing "]" are
// allowed: a logit mask driven by a byte-level state machine run over each candidate token's
// text. Outside brackets every token is allowed, except one that opens a "[" and continues it
// invalidly within the same token. With no sources at all, "[" itself is not allowed.
//
// The guard follows the grammar of generate/citations.h for what it allows inside a group, but
// does not require ranges to ascend, and it cannot force a group to close (a group left open is
// simply not a citation for the parser).
//
// Thread-safety: a CitationGuard belongs to one sequence (the Generator's stepping thread);
// TokenPieces is immutable and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling/constraint.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::generate {

// The text of every token (token_to_piece(id, special = false)), built once per model, and the
// ids whose text contains "[" (the only ones that matter outside a group).
struct TokenPieces {
  std::vector<std::string> text;
  std::vector<engine::TokenId> with_open_bracket;
};
std::shared_ptr<const TokenPieces> make_token_pieces(const engine::Tokenizer& tokenizer);

// The state machine over bytes; exposed for tests.
class CitationGrammar {
 public:
  explicit CitationGrammar(int n_sources) : n_sources_(n_sources) {}
  // Feeds one byte; false (state unchanged) when it is not allowed here.
  bool feed(unsigned char c);
  // Feeds every byte of `piece`; false when one is refused (the state is then unspecified:
  // feed a copy).
  bool feed(std::string_view piece);
  bool in_group() const { return state_ != State::kOutside; }

 private:
  enum class State : uint8_t {
    kOutside,
    kOpen,         // after "[", "," or ";": a number must come (spaces allowed)
    kNumber,       // inside a number (value_ so far)
    kAfterNumber,  // spaces after a number: separator, dash or "]"
    kRangeOpen,    // after a dash: a number must come (spaces allowed)
    kRangeNumber,
    kAfterRange,  // spaces after the range's end: separator or "]"
    kDash1,       // 0xE2 of "–"/"—" seen (after a number)
    kDash2,       // 0xE2 0x80 seen
  };
  bool start_number(unsigned char c, State next);
  bool extend_number(unsigned char c);
  int n_sources_;
  State state_ = State::kOutside;
  State dash_from_ = State::kOutside;  // the state a multi-byte dash started in
  int value_ = 0;
};

class CitationGuard final : public engine::TokenConstraint {
 public:
  CitationGuard(std::shared_ptr<const TokenPieces> pieces, int n_sources);
  void mask(std::span<float> logits) override;
  void accept(engine::TokenId token) override;
  // Steps at which the guard removed at least one candidate.
  int64_t masked_steps() const { return masked_steps_; }

 private:
  std::shared_ptr<const TokenPieces> pieces_;
  int n_sources_;
  CitationGrammar grammar_;
  std::vector<engine::TokenId> banned_;  // scratch
  int64_t masked_steps_ = 0;
};

}  // namespace quire::generate
