// Decoders beyond the goldens: a plain double-precision reference forward pass for each
// architecture (llama, qwen2, qwen3) on generated models; batched decoding invariants; the
// prompt cache; the KV cache; errors.
#include "engine/runtime/generator.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include <gtest/gtest.h>

#include "tests/support/model_gen.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

std::string vocab_path() {
  return test::shared_dir() + "/conformance/models/llama-tiny-f32.gguf";
}

// Writes a tiny random model of `arch` (F32) into dir and returns its path.
std::string write_tiny(const test::TempDir& dir, const std::string& arch) {
  auto vocab = gguf::GgufFile::open(vocab_path());
  EXPECT_TRUE(vocab.ok());
  const std::string path = dir.path() + "/tiny-" + arch + ".gguf";
  test::DecoderShape shape = test::tiny_decoder_shape(arch);
  const Status s = test::write_random_decoder(path, shape, *vocab, 2);
  EXPECT_TRUE(s.ok()) << s.message();
  return path;
}

// ---- the reference: every formula written out in double precision ----

struct RefModel {
  const gguf::GgufFile* file;
  DecoderHParams hp;
  bool qkv_bias, qk_norm;

  std::vector<double> t(const std::string& name) const {
    const gguf::TensorInfo* info = file->find_tensor(name);
    EXPECT_NE(info, nullptr) << name;
    EXPECT_EQ(info->type, GgmlType::F32);
    std::vector<double> out(info->n_elements);
    const auto* f = reinterpret_cast<const float*>(info->data);
    for (size_t i = 0; i < out.size(); ++i) out[i] = f[i];
    return out;
  }
  bool has(const std::string& name) const { return file->find_tensor(name) != nullptr; }
};

std::vector<double> matvec(const std::vector<double>& w, const std::vector<double>& x,
                           int64_t n_out) {
  const int64_t n_in = static_cast<int64_t>(x.size());
  std::vector<double> y(static_cast<size_t>(n_out), 0.0);
  for (int64_t o = 0; o < n_out; ++o) {
    for (int64_t i = 0; i < n_in; ++i) y[o] += w[o * n_in + i] * x[i];
  }
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps,
                            size_t off = 0, size_t n = 0) {
  if (n == 0) n = x.size();
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[off + i] * scale * w[i];
  return y;
}

void rope(std::vector<double>& x, int64_t n_head, int64_t hd, int64_t pos, double base,
          ops::RopeStyle style) {
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t i = 0; i < hd / 2; ++i) {
      const double theta = static_cast<double>(pos) * std::pow(base, -2.0 * i / hd);
      const size_t a =
          static_cast<size_t>(h * hd + (style == ops::RopeStyle::kAdjacentPairs ? 2 * i : i));
      const size_t b = a + (style == ops::RopeStyle::kAdjacentPairs ? 1 : hd / 2);
      const double x0 = x[a], x1 = x[b];
      x[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
      x[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
    }
  }
}

// Logits of every position of `ids`.
std::vector<std::vector<double>> reference_forward(const RefModel& m,
                                                   const std::vector<TokenId>& ids) {
  const DecoderHParams& hp = m.hp;
  const int64_t e = hp.n_embd, hd = hp.head_dim, qd = hp.q_dim(), kvd = hp.kv_dim();
  const std::vector<double> embd = m.t("token_embd.weight");
  std::vector<std::vector<double>> xs;
  for (TokenId id : ids) xs.emplace_back(embd.begin() + id * e, embd.begin() + (id + 1) * e);
  std::vector<std::vector<double>> K(ids.size()), V(ids.size());
  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const auto wq = m.t(b + "attn_q.weight"), wk = m.t(b + "attn_k.weight"),
               wv = m.t(b + "attn_v.weight"), wo = m.t(b + "attn_output.weight");
    const auto an = m.t(b + "attn_norm.weight"), fn = m.t(b + "ffn_norm.weight");
    const auto wg = m.t(b + "ffn_gate.weight"), wu = m.t(b + "ffn_up.weight"),
               wd = m.t(b + "ffn_down.weight");
    std::vector<std::vector<double>> Q(ids.size());
    for (size_t p = 0; p < ids.size(); ++p) {
      const auto h = rmsnorm(xs[p], an, hp.rms_eps);
      Q[p] = matvec(wq, h, qd);
      K[p] = matvec(wk, h, kvd);
      V[p] = matvec(wv, h, kvd);
      if (m.qkv_bias) {
        const auto bq = m.t(b + "attn_q.bias"), bk = m.t(b + "attn_k.bias"),
                   bv = m.t(b + "attn_v.bias");
        for (int64_t i = 0; i < qd; ++i) Q[p][i] += bq[i];
        for (int64_t i = 0; i < kvd; ++i) K[p][i] += bk[i], V[p][i] += bv[i];
      }
      if (m.qk_norm) {
        const auto qn = m.t(b + "attn_q_norm.weight"), kn = m.t(b + "attn_k_norm.weight");
        for (int64_t h2 = 0; h2 < hp.n_head; ++h2) {
          auto y = rmsnorm(Q[p], qn, hp.rms_eps, h2 * hd, hd);
          std::copy(y.begin(), y.end(), Q[p].begin() + h2 * hd);
        }
        for (int64_t h2 = 0; h2 < hp.n_head_kv; ++h2) {
          auto y = rmsnorm(K[p], kn, hp.rms_eps, h2 * hd, hd);
          std::copy(y.begin(), y.end(), K[p].begin() + h2 * hd);
        }
      }
      rope(Q[p], hp.n_head, hd, static_cast<int64_t>(p), hp.rope_base, hp.rope);
      rope(K[p], hp.n_head_kv, hd, static_cast<int64_t>(p), hp.rope_base, hp.rope);
    }
    for (size_t p = 0; p < ids.size(); ++p) {
      std::vector<double> attn(static_cast<size_t>(qd), 0.0);
      for (int64_t h = 0; h < hp.n_head; ++h) {
        const int64_t kvh = h / (hp.n_head / hp.n_head_kv);
        std::vector<double> s(p + 1);
        double mx = -1e300;
        for (size_t j = 0; j <= p; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i) d += Q[p][h * hd + i] * K[j][kvh * hd + i];
          s[j] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& v : s) sum += (v = std::exp(v - mx));
        for (size_t j = 0; j <= p; ++j) {
          for (int64_t i = 0; i < hd; ++i) attn[h * hd + i] += s[j] / sum * V[j][kvh * hd + i];
        }
      }
      const auto o = matvec(wo, attn, e);
      for (int64_t i = 0; i < e; ++i) xs[p][i] += o[i];
      const auto h = rmsnorm(xs[p], fn, hp.rms_eps);
      auto g = matvec(wg, h, hp.n_ff);
      const auto u = matvec(wu, h, hp.n_ff);
      for (int64_t i = 0; i < hp.n_ff; ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const auto d = matvec(wd, g, e);
      for (int64_t i = 0; i < e; ++i) xs[p][i] += d[i];
    }
  }
  const auto on = m.t("output_norm.weight");
  const auto out = m.t(m.has("output.weight") ? "output.weight" : "token_embd.weight");
  std::vector<std::vector<double>> logits;
  for (auto& x : xs) logits.push_back(matvec(out, rmsnorm(x, on, hp.rms_eps), hp.n_vocab));
  return logits;
}

class ReferenceForward : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceForward, MatchesDoublePrecisionReference) {
  QUIRE_REQUIRE_SHARED();
  const std::string arch = GetParam();
  test::TempDir dir;
  const std::string path = write_tiny(dir, arch);
  auto lm = LanguageModel::open(path);
  ASSERT_TRUE(lm.ok()) << lm.status().message();
  const DecoderModel& model = (*lm)->decoder();
  const DecoderHParams& hp = model.hparams();
  RefModel ref{&(*lm)->file(), hp, arch == "qwen2", arch == "qwen3"};
  const std::vector<TokenId> ids = {1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366};
  std::vector<TokenId> clamped;
  for (TokenId id : ids) clamped.push_back(id % static_cast<TokenId>(hp.n_vocab));
  const auto want = reference_forward(ref, clamped);

  for (MatmulPath path_kind : {MatmulPath::kQuantized, MatmulPath::kAuto}) {
    auto cache = KvCache::create(hp.n_layer, hp.n_head_kv, hp.head_dim, KvType::kF32, 64);
    ASSERT_TRUE(cache.ok());
    const int seq = cache->add_sequence();
    ThreadPool pool(2);
    DecoderScratch scratch;
    std::vector<float> logits;
    const StepEntry entry{seq, clamped, true};
    ASSERT_TRUE(model.forward({&entry, 1}, *cache, logits, pool, scratch, path_kind).ok());
    double worst = 0;
    for (size_t p = 0; p < clamped.size(); ++p) {
      double num = 0, den = 0;
      for (int64_t i = 0; i < hp.n_vocab; ++i) {
        const double d = logits[p * hp.n_vocab + i] - want[p][i];
        num += d * d;
        den += want[p][i] * want[p][i];
      }
      worst = std::max(worst, std::sqrt(num / den));
    }
    std::printf("  %s (%s path): worst rel-L2 vs the double reference %.3g\n", arch.c_str(),
                path_kind == MatmulPath::kQuantized ? "integer" : "auto", worst);
    EXPECT_LE(worst, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, ReferenceForward, ::testing::Values("llama", "qwen2", "qwen3"));

// ---- batching, prompt cache, errors (conformance models) ----

std::unique_ptr<LanguageModel> open_model(const std::string& name) {
  auto lm = LanguageModel::open(test::shared_dir() + "/conformance/models/" + name);
  EXPECT_TRUE(lm.ok()) << lm.status().message();
  return lm.ok() ? std::move(lm).value() : nullptr;
}

GenerationRequest greedy_request(std::vector<TokenId> prompt, int64_t n) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = n;
  r.ignore_eos = true;
  return r;
}

std::vector<std::vector<TokenId>> test_prompts(const Tokenizer& tok) {
  std::vector<std::vector<TokenId>> out;
  for (const char* text :
       {"The quick brown fox jumps over the lazy dog.", "for i in range(10):\n    print(i)\n",
        "Zürich: café 你好 🦙! A longer prompt that spans several prefill chunks of the "
        "batch.",
        "Retrieval-augmented generation cites its sources."}) {
    out.push_back(tok.encode(text, true, true));
  }
  return out;
}

class Batching : public ::testing::TestWithParam<std::string> {};

TEST_P(Batching, SequencesTogetherEqualEachAloneAndJoiningMidwayChangesNothing) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model(GetParam());
  ASSERT_NE(lm, nullptr);
  const auto prompts = test_prompts(lm->tokenizer());
  GeneratorOptions opt;
  opt.threads = 2;
  opt.n_ctx = 256;
  opt.n_batch = 8;  // prompts are cut into chunks interleaved with the others' decode steps
  opt.cached_sequences = 0;

  std::vector<std::vector<TokenId>> alone;
  for (const auto& p : prompts) {
    auto gen = Generator::create(*lm, opt);
    ASSERT_TRUE(gen.ok());
    auto r = (*gen)->generate(greedy_request(p, 24));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->generated_tokens, 24);
    alone.push_back(r->tokens);
  }

  // All four at once.
  {
    auto gen = Generator::create(*lm, opt);
    ASSERT_TRUE(gen.ok());
    std::vector<int> ids;
    for (const auto& p : prompts) ids.push_back(*(*gen)->submit(greedy_request(p, 24)));
    std::vector<GenerationEvent> events;
    while ((*gen)->busy()) ASSERT_TRUE((*gen)->step(events).ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_NE((*gen)->result(ids[i]), nullptr);
      EXPECT_EQ((*gen)->result(ids[i])->tokens, alone[i]) << "sequence " << i << " batched";
    }
  }
  // Three start, the fourth joins after 5 steps.
  {
    auto gen = Generator::create(*lm, opt);
    ASSERT_TRUE(gen.ok());
    std::vector<int> ids;
    for (size_t i = 0; i < 3; ++i) ids.push_back(*(*gen)->submit(greedy_request(prompts[i], 24)));
    std::vector<GenerationEvent> events;
    for (int s = 0; s < 5; ++s) ASSERT_TRUE((*gen)->step(events).ok());
    ids.push_back(*(*gen)->submit(greedy_request(prompts[3], 24)));
    while ((*gen)->busy()) ASSERT_TRUE((*gen)->step(events).ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ((*gen)->result(ids[i])->tokens, alone[i]) << "sequence " << i << " (join)";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Batching,
                         ::testing::Values("llama-tiny-q4_k_m.gguf", "qwen2-tiny-f32.gguf",
                                           "llama-tiny-q8_0.gguf"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-' || c == '.') c = '_';
                           }
                           return n;
                         });

TEST(Generator, PromptCacheReusesPrefixWithIdenticalResults) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("llama-tiny-q4_k_m.gguf");
  ASSERT_NE(lm, nullptr);
  const auto prompts = test_prompts(lm->tokenizer());
  GeneratorOptions opt;
  opt.threads = 2;
  opt.n_ctx = 256;
  opt.matmul_path = MatmulPath::kQuantized;  // per-token arithmetic: chunking cannot matter
  auto gen = Generator::create(*lm, opt);
  ASSERT_TRUE(gen.ok());
  auto first = (*gen)->generate(greedy_request(prompts[0], 8));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->cached_tokens, 0);
  // The next turn: the first prompt, its answer, and more text.
  std::vector<TokenId> turn2 = prompts[0];
  turn2.insert(turn2.end(), first->tokens.begin(), first->tokens.end());
  turn2.insert(turn2.end(), prompts[3].begin() + 1, prompts[3].end());
  auto second = (*gen)->generate(greedy_request(turn2, 8));
  ASSERT_TRUE(second.ok());
  // Everything fed before (prompt + 7 of the 8 answer tokens) comes from the cache.
  EXPECT_EQ(second->cached_tokens, static_cast<int64_t>(prompts[0].size()) + 7);
  auto fresh_gen = Generator::create(*lm, opt);
  ASSERT_TRUE(fresh_gen.ok());
  auto fresh = (*fresh_gen)->generate(greedy_request(turn2, 8));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->cached_tokens, 0);
  EXPECT_EQ(second->tokens, fresh->tokens);
}

TEST(Generator, SharedThreadPoolGivesTheSameTokens) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("qwen2-tiny-q4_k_m.gguf");
  ASSERT_NE(lm, nullptr);
  const auto prompts = test_prompts(lm->tokenizer());
  GeneratorOptions own;
  own.threads = 2;
  own.n_ctx = 256;
  auto a = Generator::create(*lm, own);
  ASSERT_TRUE(a.ok());
  ThreadPool shared(2);
  GeneratorOptions with_pool = own;
  with_pool.threads = 1;  // ignored: the shared pool's size is what runs
  with_pool.pool = &shared;
  auto b = Generator::create(*lm, with_pool);
  auto c = Generator::create(*lm, with_pool);  // two generators on one pool
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_EQ(&(*b)->pool(), &shared);
  for (const auto& prompt : prompts) {
    auto ra = (*a)->generate(greedy_request(prompt, 12));
    auto rb = (*b)->generate(greedy_request(prompt, 12));
    auto rc = (*c)->generate(greedy_request(prompt, 12));
    ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok());
    EXPECT_EQ(ra->tokens, rb->tokens);
    EXPECT_EQ(ra->tokens, rc->tokens);
  }
}

TEST(Generator, ClearErrors) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("qwen2-tiny-q8_0.gguf");
  ASSERT_NE(lm, nullptr);
  GeneratorOptions opt;
  opt.n_ctx = 16;
  auto gen = Generator::create(*lm, opt);
  ASSERT_TRUE(gen.ok());
  std::vector<TokenId> long_prompt(17, 100);
  auto r = (*gen)->submit(greedy_request(long_prompt, 4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("17 tokens"), std::string::npos) << r.status().message();
  EXPECT_EQ((*gen)->submit(greedy_request({1, 2}, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*gen)->submit(greedy_request({}, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*gen)->submit(greedy_request({1, 99999}, 4)).status().code(),
            StatusCode::kInvalidArgument);
  // A full context ends the generation with "length", not an error.
  auto fits = (*gen)->generate(greedy_request(std::vector<TokenId>(10, 100), 100));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->finish_reason, "length");
  EXPECT_EQ(fits->generated_tokens, 7);  // 10 + 6 fed = 16 positions, the 7th is sampled last

  auto bert = LanguageModel::open(test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf");
  ASSERT_FALSE(bert.ok());
  EXPECT_EQ(bert.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(bert.status().message().find("llama"), std::string::npos);
}

TEST(Generator, LogitBiasShiftsTheChoiceAndBadBiasesAreRefused) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("qwen2-tiny-q8_0.gguf");
  ASSERT_NE(lm, nullptr);
  GeneratorOptions opt;
  opt.n_ctx = 64;
  auto gen = Generator::create(*lm, opt);
  ASSERT_TRUE(gen.ok());
  const auto prompt = lm->tokenizer().encode("The quick brown fox", true, false);
  auto plain = (*gen)->generate(greedy_request(prompt, 6));
  ASSERT_TRUE(plain.ok());
  // A large bias on one token makes greedy decoding pick it every time; banning the token
  // greedy chose first makes it choose another.
  const TokenId forced = 1234;
  GenerationRequest biased = greedy_request(prompt, 6);
  biased.logit_bias = {{forced, 1000.0f}};
  auto r = (*gen)->generate(std::move(biased));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tokens, std::vector<TokenId>(6, forced));
  GenerationRequest banned = greedy_request(prompt, 1);
  banned.logit_bias = {{plain->tokens[0], -1e30f}};
  auto b = (*gen)->generate(std::move(banned));
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->tokens[0], plain->tokens[0]);
  // Out-of-vocabulary ids and non-finite biases are refused with the id named.
  GenerationRequest bad = greedy_request(prompt, 1);
  bad.logit_bias = {{-1, 1.0f}};
  EXPECT_EQ((*gen)->submit(bad).status().code(), StatusCode::kInvalidArgument);
  bad.logit_bias = {{static_cast<TokenId>(lm->decoder().hparams().n_vocab), 1.0f}};
  EXPECT_EQ((*gen)->submit(bad).status().code(), StatusCode::kInvalidArgument);
  bad.logit_bias = {{5, std::numeric_limits<float>::infinity()}};
  auto inf = (*gen)->submit(bad);
  ASSERT_FALSE(inf.ok());
  EXPECT_NE(inf.status().message().find("token id 5"), std::string::npos);
}

TEST(KvCache, TruncateCopyAndLimits) {
  auto c = KvCache::create(2, 2, 32, KvType::kQ8_0, 8);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->row_bytes(), 2u * 34u);
  const int a = c->add_sequence();
  ASSERT_TRUE(c->reserve(a, 5).ok());
  for (int64_t p = 0; p < 5; ++p) std::memset(c->k_row(a, 1, p), static_cast<int>(p + 1), 68);
  c->commit(a, 5);
  EXPECT_EQ(c->length(a), 5);
  EXPECT_EQ(c->reserve(a, 4).code(), StatusCode::kResourceExhausted);
  const int b = c->add_sequence();
  ASSERT_TRUE(c->copy_prefix(a, b, 3).ok());
  EXPECT_EQ(c->length(b), 3);
  EXPECT_EQ(c->k_row(b, 1, 2)[0], 3);
  c->truncate(a, 2);
  EXPECT_EQ(c->length(a), 2);
  EXPECT_FALSE(c->copy_prefix(a, b, 3).ok());
  c->remove_sequence(a);
  EXPECT_FALSE(c->has_sequence(a));
  EXPECT_EQ(c->add_sequence(), a);                                 // ids are reused
  EXPECT_FALSE(KvCache::create(2, 2, 40, KvType::kQ8_0, 8).ok());  // head size not 32k
  EXPECT_FALSE(parse_kv_type("q4_0").ok());
}

}  // namespace
}  // namespace quire::engine
