// Constrained decoding: a per-sequence rule on which tokens may come next, applied to the
// logits before the sampler chain (a grammar, generate/'s citation guard).
#pragma once

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

// One instance per sequence; called from the thread that steps the sequence only.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logit of every token that may not come next to -infinity. When that would leave
  // no token at all, leaves the logits unchanged (a constraint never stalls a sequence).
  virtual void mask(std::span<float> logits) = 0;
  // The sequence continued with `token` (every generated token, in order).
  virtual void accept(TokenId token) = 0;
};

// Several constraints on one sequence, applied in order (each masks what the ones before left);
// every one sees every accepted token.
class ConstraintChain final : public TokenConstraint {
 public:
  explicit ConstraintChain(std::vector<std::shared_ptr<TokenConstraint>> parts)
      : parts_(std::move(parts)) {}
  void mask(std::span<float> logits) override {
    for (auto& p : parts_) p->mask(logits);
  }
  void accept(TokenId token) override {
    for (auto& p : parts_) p->accept(token);
  }

 private:
  std::vector<std::shared_ptr<TokenConstraint>> parts_;
};

}  // namespace quire::engine
