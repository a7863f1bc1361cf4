#include "generate/citation_guard.h"

#include <limits>

namespace quire::generate {

std::shared_ptr<const TokenPieces> make_token_pieces(const engine::Tokenizer& tokenizer) {
  auto pieces = std::make_shared<TokenPieces>();
  const size_t n = tokenizer.vocab().size();
  pieces->text.resize(n);
  for (size_t id = 0; id < n; ++id) {
    pieces->text[id] = tokenizer.token_to_piece(static_cast<engine::TokenId>(id), false);
    if (pieces->text[id].find('[') != std::string::npos) {
      pieces->with_open_bracket.push_back(static_cast<engine::TokenId>(id));
    }
  }
  return pieces;
}

bool CitationGrammar::start_number(unsigned char c, State next) {
  if (c < '1' || c > '9' || c - '0' > n_sources_) return false;
  value_ = c - '0';
  state_ = next;
  return true;
}

bool CitationGrammar::extend_number(unsigned char c) {
  if (c < '0' || c > '9') return false;
  const int v = value_ * 10 + (c - '0');
  if (v > n_sources_) return false;
  value_ = v;
  return true;
}

bool CitationGrammar::feed(unsigned char c) {
  switch (state_) {
    case State::kOutside:
      if (c == '[') {
        if (n_sources_ < 1) return false;
        state_ = State::kOpen;
      }
      return true;
    case State::kOpen:
      if (c == ' ') return true;
      return start_number(c, State::kNumber);
    case State::kRangeOpen:
      if (c == ' ') return true;
      return start_number(c, State::kRangeNumber);
    case State::kNumber:
    case State::kRangeNumber:
      if (c >= '0' && c <= '9') return extend_number(c);
      [[fallthrough]];
    case State::kAfterNumber:
    case State::kAfterRange: {
      const bool range_done = state_ == State::kRangeNumber || state_ == State::kAfterRange;
      if (c == ' ') {
        state_ = range_done ? State::kAfterRange : State::kAfterNumber;
        return true;
      }
      if (c == ']') {
        state_ = State::kOutside;
        return true;
      }
      if (c == ',' || c == ';') {
        state_ = State::kOpen;
        return true;
      }
      if (range_done) return false;
      if (c == '-') {
        state_ = State::kRangeOpen;
        return true;
      }
      if (c == 0xE2) {
        dash_from_ = state_;
        state_ = State::kDash1;
        return true;
      }
      return false;
    }
    case State::kDash1:
      if (c != 0x80) return false;
      state_ = State::kDash2;
      return true;
    case State::kDash2:
      if (c != 0x93 && c != 0x94) return false;
      state_ = State::kRangeOpen;
      return true;
  }
  return false;
}

bool CitationGrammar::feed(std::string_view piece) {
  for (char c : piece) {
    if (!feed(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

CitationGuard::CitationGuard(std::shared_ptr<const TokenPieces> pieces, int n_sources)
    : pieces_(std::move(pieces)), n_sources_(n_sources), grammar_(n_sources) {}

void CitationGuard::mask(std::span<float> logits) {
  banned_.clear();
  const auto allowed = [&](engine::TokenId id) {
    CitationGrammar trial = grammar_;
    return trial.feed(pieces_->text[static_cast<size_t>(id)]);
  };
  const size_t n = std::min(logits.size(), pieces_->text.size());
  if (grammar_.in_group()) {
    for (size_t id = 0; id < n; ++id) {
      if (!allowed(static_cast<engine::TokenId>(id))) {
        banned_.push_back(static_cast<engine::TokenId>(id));
      }
    }
  } else {
    for (engine::TokenId id : pieces_->with_open_bracket) {
      if (static_cast<size_t>(id) < n && !allowed(id)) banned_.push_back(id);
    }
  }
  if (banned_.empty() || banned_.size() >= n) return;  // nothing to do, or nothing would be left
  for (engine::TokenId id : banned_) {
    logits[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
  }
  ++masked_steps_;
}

void CitationGuard::accept(engine::TokenId token) {
  if (token < 0 || static_cast<size_t>(token) >= pieces_->text.size()) return;
  CitationGrammar next = grammar_;
  // A token the mask let through always feeds; one it could not stop (the mask gave way, or
  // the caller forced it) resets the grammar to outside a group.
  grammar_ =
      next.feed(pieces_->text[static_cast<size_t>(token)]) ? next : CitationGrammar(n_sources_);
}

}  // namespace quire::generate
