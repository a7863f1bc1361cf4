#include "engine/runtime/generator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/arch/registry.h"
#include "engine/core/log.h"
#include "engine/core/timer.h"
#include "engine/gguf/gguf_names.h"

namespace quire::engine {

// ---------------------------------------------------------------------------------------------
// LanguageModel

Result<std::unique_ptr<LanguageModel>> LanguageModel::open(const std::string& path) {
  QUIRE_ASSIGN_OR_RETURN(gguf::GgufFile parsed, gguf::GgufFile::open(path));
  std::unique_ptr<LanguageModel> lm(new LanguageModel());
  lm->path_ = path;
  lm->file_ = std::make_unique<gguf::GgufFile>(std::move(parsed));
  const std::string arch = lm->file_->architecture();
  const ArchEntry* entry = find_arch(arch);
  if (entry == nullptr || !entry->runs || entry->decoder == nullptr) {
    const bool runnable_encoder =
        entry != nullptr && entry->runs && entry->kind == ArchKind::kEncoder;
    std::string what = runnable_encoder ? "is an embedding model, not a text generator"
                                        : "has an architecture quire does not run";
    return unimplemented_error("'" + path + "' " + what + " ('" + arch +
                               "'; generation supports: " + arch_names(ArchKind::kDecoder) + ")");
  }
  Result<std::unique_ptr<DecoderModel>> model = DecoderModel::load(*lm->file_, *entry->decoder);
  if (!model.ok()) return model.status().with_context(path);
  lm->model_ = std::move(model).value();
  QUIRE_ASSIGN_OR_RETURN(lm->tokenizer_, make_tokenizer(*lm->file_));
  const Vocab& vocab = lm->tokenizer_->vocab();
  const int64_t n_vocab = lm->model_->hparams().n_vocab;
  if (static_cast<int64_t>(vocab.size()) > n_vocab) {
    return failed_precondition_error(
        "'" + path + "': the tokenizer has " + std::to_string(vocab.size()) +
        " tokens but the output layer only " + std::to_string(n_vocab));
  }
  lm->eog_.assign(static_cast<size_t>(n_vocab), false);
  for (TokenId id : {vocab.eos, vocab.eot}) {
    if (id >= 0 && id < n_vocab) lm->eog_[static_cast<size_t>(id)] = true;
  }
  static constexpr std::string_view kEndOfTurn[] = {
      "<|im_end|>", "<|eot_id|>",      "<|end|>",    "<end_of_turn>", "<|endoftext|>",
      "</s>",       "<|end_of_text|>", "<|eom_id|>", "<EOT>",         "<|END_OF_TURN_TOKEN|>"};
  for (std::string_view text : kEndOfTurn) {
    auto it = vocab.index.find(std::string(text));
    if (it == vocab.index.end()) continue;
    const TokenId id = it->second;
    if (id >= 0 && id < n_vocab && vocab.is_special(id)) lm->eog_[static_cast<size_t>(id)] = true;
  }
  for (const gguf::TensorInfo& t : lm->file_->tensors()) lm->weight_bytes_ += t.n_bytes;
  return lm;
}

std::string LanguageModel::name() const {
  if (auto n = file_->get_string(gguf::kKvGeneralName); n && !n->empty()) return *n;
  return std::filesystem::path(path_).filename().string();
}

std::optional<std::string> LanguageModel::chat_template() const {
  return file_->get_string(gguf::kKvTokenizerChatTemplate);
}

bool LanguageModel::is_end_of_generation(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < eog_.size() && eog_[static_cast<size_t>(id)];
}

// ---------------------------------------------------------------------------------------------
// Generator

struct Generator::Running {
  int id = 0;
  GenerationRequest req;
  std::optional<Sampler> sampler;
  std::vector<float> masked;  // the logits row after the request's bias and constraint
  std::unique_ptr<StreamDecoder> decoder;
  std::unique_ptr<StopMatcher> stop;
  int seq = -1;              // -1 until started
  std::vector<TokenId> fed;  // tokens whose K/V the sequence holds
  int64_t next_prompt = 0;   // next prompt token to feed
  bool decoding = false;     // prompt done; `pending` is the next token to feed
  TokenId pending = -1;
  bool cancelled = false;
  bool finished = false;
  int64_t prefill_start_ns = -1;
  int64_t decode_start_ns = -1;
  GenerationResult result;
};

Generator::Generator(const LanguageModel& model, const GeneratorOptions& options, KvCache cache)
    : model_(model),
      options_(options),
      cache_(std::move(cache)),
      owned_pool_(options.pool == nullptr ? std::make_unique<ThreadPool>(options.threads)
                                          : nullptr),
      pool_(options.pool != nullptr ? options.pool : owned_pool_.get()) {}

Generator::~Generator() = default;

Result<std::unique_ptr<Generator>> Generator::create(const LanguageModel& model,
                                                     const GeneratorOptions& options) {
  const DecoderHParams& hp = model.decoder().hparams();
  GeneratorOptions o = options;
  if (o.n_ctx < 0) return invalid_argument_error("context length must be positive");
  if (o.n_ctx == 0) o.n_ctx = std::min<int64_t>(hp.n_ctx_train, 4096);
  if (o.n_ctx > hp.n_ctx_train) {
    QUIRE_LOG_WARN("context length %lld exceeds the model's trained context %lld",
                   static_cast<long long>(o.n_ctx), static_cast<long long>(hp.n_ctx_train));
  }
  if (o.n_batch <= 0) return invalid_argument_error("batch size must be positive");
  if (o.max_sequences <= 0) return invalid_argument_error("max_sequences must be positive");
  QUIRE_ASSIGN_OR_RETURN(
      KvCache cache, KvCache::create(hp.n_layer, hp.n_head_kv, hp.head_dim, o.kv_type, o.n_ctx));
  return std::unique_ptr<Generator>(new Generator(model, o, std::move(cache)));
}

Result<int> Generator::submit(GenerationRequest request) {
  const int64_t n_vocab = model_.decoder().hparams().n_vocab;
  if (request.prompt.empty()) return invalid_argument_error("the prompt is empty");
  if (request.max_tokens == 0 || request.max_tokens < -1) {
    return invalid_argument_error("max_tokens must be at least 1 (or -1 for no limit), got " +
                                  std::to_string(request.max_tokens));
  }
  for (TokenId id : request.prompt) {
    if (id < 0 || id >= n_vocab) {
      return invalid_argument_error("prompt token id " + std::to_string(id) +
                                    " is outside the vocabulary");
    }
  }
  for (const auto& [id, bias] : request.logit_bias) {
    if (id < 0 || id >= n_vocab || !std::isfinite(bias)) {
      return invalid_argument_error("logit bias " + std::to_string(bias) + " for token id " +
                                    std::to_string(id) +
                                    ": ids must be in the vocabulary and biases finite");
    }
  }
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (n_prompt > cache_.n_ctx()) {
    return resource_exhausted_error(
        "the prompt has " + std::to_string(n_prompt) + " tokens but the context holds " +
        std::to_string(cache_.n_ctx()) + " (raise the context length or shorten the prompt)");
  }
  QUIRE_ASSIGN_OR_RETURN(Sampler sampler,
                         Sampler::create(request.sampling, static_cast<int32_t>(n_vocab)));
  auto r = std::make_unique<Running>();
  r->id = next_id_++;
  r->sampler.emplace(std::move(sampler));
  for (TokenId id : request.prompt) r->sampler->accept(id);
  r->decoder = std::make_unique<StreamDecoder>(model_.tokenizer());
  r->stop = std::make_unique<StopMatcher>(request.stop);
  r->result.prompt_tokens = n_prompt;
  r->req = std::move(request);
  const int id = r->id;
  queue_.push_back(std::move(r));
  return id;
}

bool Generator::busy() const {
  return std::any_of(queue_.begin(), queue_.end(), [](const auto& r) { return !r->finished; });
}

void Generator::cancel(int id) {
  for (auto& r : queue_) {
    if (r->id == id) r->cancelled = true;
  }
}

const GenerationResult* Generator::result(int id) const {
  for (const auto& [done_id, result] : done_) {
    if (done_id == id) return &result;
  }
  return nullptr;
}

void Generator::release(int id) {
  std::erase_if(done_, [id](const auto& d) { return d.first == id; });
}

Status Generator::start(Running& r) {
  // The cached sequence sharing the longest prefix with the prompt; at least the last prompt
  // token is always evaluated (its logits give the first generated token).
  const std::vector<TokenId>& prompt = r.req.prompt;
  size_t best = 0;
  Cached* from = nullptr;
  for (Cached& c : cached_) {
    const size_t n = std::min(c.tokens.size(), prompt.size() - 1);
    size_t lcp = 0;
    while (lcp < n && c.tokens[lcp] == prompt[lcp]) ++lcp;
    if (lcp > best) {
      best = lcp;
      from = &c;
    }
  }
  r.seq = cache_.add_sequence();
  if (from != nullptr) {
    QUIRE_RETURN_IF_ERROR(cache_.copy_prefix(from->seq, r.seq, static_cast<int64_t>(best)));
    from->last_used = ++clock_;
    r.fed.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(best));
  }
  r.next_prompt = static_cast<int64_t>(best);
  r.result.cached_tokens = static_cast<int64_t>(best);
  return Status();
}

void Generator::finish(Running& r, std::string reason, std::vector<GenerationEvent>& events) {
  GenerationEvent ev{r.id, "", true};
  if (!r.stop->stopped()) {
    StopMatcher::Result tail = r.stop->push(r.decoder->flush());
    ev.text = tail.emit;
    if (!tail.stopped) ev.text += r.stop->flush();
  }
  r.result.text += ev.text;
  const int64_t now = monotonic_ns();
  if (r.decode_start_ns >= 0)
    r.result.decode_s = static_cast<double>(now - r.decode_start_ns) * 1e-9;
  r.result.finish_reason = std::move(reason);
  r.finished = true;
  events.push_back(std::move(ev));
  // Keep the sequence as a prompt cache entry; drop the least recently used beyond the limit.
  if (r.seq >= 0) {
    if (options_.cached_sequences > 0 && !r.fed.empty()) {
      cached_.push_back({r.seq, std::move(r.fed), ++clock_});
      while (static_cast<int>(cached_.size()) > options_.cached_sequences) {
        auto lru = std::min_element(
            cached_.begin(), cached_.end(),
            [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
        cache_.remove_sequence(lru->seq);
        cached_.erase(lru);
      }
    } else {
      cache_.remove_sequence(r.seq);
    }
    r.seq = -1;
  }
  done_.emplace_back(r.id, std::move(r.result));
}

TokenId Generator::sample(Running& r, std::span<const float> logits) {
  if (r.req.constraint == nullptr && r.req.logit_bias.empty()) return r.sampler->sample(logits);
  r.masked.assign(logits.begin(), logits.end());
  for (const auto& [id, bias] : r.req.logit_bias) r.masked[static_cast<size_t>(id)] += bias;
  if (r.req.constraint != nullptr) r.req.constraint->mask(r.masked);
  return r.sampler->sample(r.masked);
}

void Generator::accept_token(Running& r, TokenId token, std::vector<GenerationEvent>& events) {
  r.sampler->accept(token);
  if (r.req.constraint != nullptr) r.req.constraint->accept(token);
  r.result.tokens.push_back(token);
  ++r.result.generated_tokens;
  if (!r.req.ignore_eos && model_.is_end_of_generation(token)) {
    finish(r, "stop", events);
    return;
  }
  StopMatcher::Result out = r.stop->push(r.decoder->push(token));
  r.result.text += out.emit;
  if (out.stopped) {
    events.push_back({r.id, std::move(out.emit), false});
    finish(r, "stop", events);
    return;
  }
  if (!out.emit.empty()) events.push_back({r.id, std::move(out.emit), false});
  if (r.req.max_tokens > 0 && r.result.generated_tokens >= r.req.max_tokens) {
    finish(r, "length", events);
    return;
  }
  if (cache_.length(r.seq) + 1 > cache_.n_ctx()) {
    finish(r, "length", events);
    return;
  }
  r.pending = token;
  r.decoding = true;
}

Status Generator::step(std::vector<GenerationEvent>& events) {
  // Retire cancelled requests; start queued ones while there is room.
  int running = 0;
  for (auto& r : queue_) {
    if (r->finished) continue;
    if (r->cancelled) {
      finish(*r, "cancelled", events);
      continue;
    }
    if (r->seq < 0) {
      if (running >= options_.max_sequences) continue;
      QUIRE_RETURN_IF_ERROR(start(*r));
    }
    ++running;
  }
  std::erase_if(queue_, [](const auto& r) { return r->finished; });
  if (running == 0) return Status();

  // Decode rows for every decoding sequence; whole prompt chunks (n_batch tokens, the same cut
  // whatever else runs) while this step has prompt budget left, at least one.
  std::vector<StepEntry> entries;
  std::vector<Running*> owners;
  int64_t prompt_budget = options_.n_batch;
  const int64_t now = monotonic_ns();
  for (auto& r : queue_) {
    if (r->seq < 0) continue;
    if (r->decoding) {
      entries.push_back({r->seq, {&r->pending, 1}, false});
      owners.push_back(r.get());
    }
  }
  for (auto& r : queue_) {
    if (r->seq < 0 || r->decoding || prompt_budget <= 0) continue;
    const int64_t left = static_cast<int64_t>(r->req.prompt.size()) - r->next_prompt;
    const int64_t chunk = std::min(options_.n_batch, left);
    if (chunk > prompt_budget && prompt_budget < options_.n_batch) break;
    entries.push_back(
        {r->seq, {r->req.prompt.data() + r->next_prompt, static_cast<size_t>(chunk)}, false});
    owners.push_back(r.get());
    prompt_budget -= chunk;
    if (r->prefill_start_ns < 0) r->prefill_start_ns = now;
  }
  if (entries.empty()) return Status();

  QUIRE_RETURN_IF_ERROR(
      model_.decoder().forward(entries, cache_, logits_, *pool_, scratch_, options_.matmul_path));
  const int64_t n_vocab = model_.decoder().hparams().n_vocab;
  for (size_t i = 0; i < entries.size(); ++i) {
    Running& r = *owners[i];
    const std::span<const float> row(logits_.data() + i * static_cast<size_t>(n_vocab),
                                     static_cast<size_t>(n_vocab));
    if (r.decoding) {
      r.fed.push_back(r.pending);
      ++r.result.decode_steps;
      accept_token(r, sample(r, row), events);
      continue;
    }
    r.fed.insert(r.fed.end(), entries[i].tokens.begin(), entries[i].tokens.end());
    r.next_prompt += static_cast<int64_t>(entries[i].tokens.size());
    if (r.next_prompt < static_cast<int64_t>(r.req.prompt.size())) continue;
    const TokenId first = sample(r, row);
    r.decode_start_ns = monotonic_ns();
    r.result.prefill_s = static_cast<double>(r.decode_start_ns - r.prefill_start_ns) * 1e-9;
    accept_token(r, first, events);
  }
  std::erase_if(queue_, [](const auto& r) { return r->finished; });
  return Status();
}

Result<GenerationResult> Generator::generate(GenerationRequest request,
                                             const std::function<bool(std::string_view)>& on_text) {
  QUIRE_ASSIGN_OR_RETURN(const int id, submit(std::move(request)));
  std::vector<GenerationEvent> events;
  while (result(id) == nullptr) {
    events.clear();
    QUIRE_RETURN_IF_ERROR(step(events));
    for (const GenerationEvent& ev : events) {
      if (ev.id != id || !on_text || ev.text.empty()) continue;
      if (!on_text(ev.text)) cancel(id);
    }
  }
  GenerationResult out = *result(id);
  release(id);
  return out;
}

}  // namespace quire::engine
