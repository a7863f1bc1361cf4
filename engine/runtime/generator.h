// Text generation with a decoder model: many sequences decoded together.
//
// LanguageModel is the loaded file (weights memory-mapped, tokenizer, chat template); immutable
// and shareable. A Generator owns a KV cache, a thread pool and scratch, and runs requests with
// continuous batching: every step() feeds one token of each decoding sequence plus prompt chunks
// of n_batch tokens of sequences still prefilling, all as rows of one forward pass, so every
// weight matrix is read once per step for all of them. Sequences join and leave between steps.
//
// A sequence's results never depend on the others in the step: its prompt is cut into the same
// chunks whatever else runs, and decode rows use per-token kernels (arch/decoder.h).
//
// Finished sequences leave their KV rows behind as a prompt cache: a new request whose prompt
// starts with the same tokens (the next turn of a chat, or the same system prompt and sources)
// reuses them and prefills only the rest. The least recently used are dropped first.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/arch/decoder.h"
#include "engine/core/status.h"
#include "engine/core/thread_pool.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/model/kv_cache.h"
#include "engine/sampling/constraint.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

// Thread-safety: immutable after open(); every const member may be called from any thread.
class LanguageModel {
 public:
  // Opens a GGUF decoder of an architecture in the registry. Errors: kNotFound (no file),
  // kDataLoss (corrupt), kUnimplemented (an encoder, or an architecture quire lacks: the message
  // lists the supported ones).
  static Result<std::unique_ptr<LanguageModel>> open(const std::string& path);

  const DecoderModel& decoder() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const gguf::GgufFile& file() const { return *file_; }
  const std::string& path() const { return path_; }
  std::string name() const;  // general.name, or the file name
  // tokenizer.chat_template, when the file has one.
  std::optional<std::string> chat_template() const;
  // Tokens that end a generation: EOS, EOT and the end-of-turn control tokens of common chat
  // formats (<|im_end|>, <|eot_id|>, <|end|>, <end_of_turn>, <|endoftext|>, ...).
  bool is_end_of_generation(TokenId id) const;
  // Bytes of all tensor data (what the mapping holds).
  uint64_t weight_bytes() const { return weight_bytes_; }

 private:
  LanguageModel() = default;
  std::string path_;
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<DecoderModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<bool> eog_;
  uint64_t weight_bytes_ = 0;
};

struct GeneratorOptions {
  // A pool shared with other engine parts (e.g. the embedder of the same process), not owned:
  // it must outlive the Generator. nullptr: the Generator starts its own with `threads` workers.
  ThreadPool* pool = nullptr;
  int threads = 0;                // own pool's workers when pool is nullptr; 0: all CPUs
  int64_t n_ctx = 0;              // positions per sequence; 0: min(model's context, 4096)
  KvType kv_type = KvType::kF16;  // K and V cache type
  int64_t n_batch = 512;          // prompt tokens per sequence per step
  int max_sequences = 8;          // sequences decoding at once (more wait their turn)
  int cached_sequences = 8;       // finished sequences kept as a prompt cache
  MatmulPath matmul_path = MatmulPath::kAuto;
};

struct GenerationRequest {
  std::vector<TokenId> prompt;  // not empty
  SamplingParams sampling;
  int64_t max_tokens = 128;  // generated tokens at most; -1: until end of generation or context
  std::vector<std::string> stop;  // stop strings (not part of the returned text)
  bool ignore_eos = false;        // keep going past end-of-generation tokens
  // Added to a token's logit at every step, before the constraint and the sampler (OpenAI's
  // logit_bias; -100 all but bans a token). Ids must be in the vocabulary, values finite.
  std::vector<std::pair<TokenId, float>> logit_bias;
  // Tokens allowed next, applied before sampling (nullptr: any). Owned by the request.
  std::shared_ptr<TokenConstraint> constraint;
};

struct GenerationResult {
  std::string text;             // the generated text, stop string excluded
  std::vector<TokenId> tokens;  // every sampled token (an end-of-generation token included)
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens whose K/V came from the prompt cache
  double prefill_s = 0;       // first step with its prompt -> its first token sampled
  int64_t generated_tokens = 0;
  int64_t decode_steps = 0;   // forward passes that fed a generated token
  double decode_s = 0;        // first token -> finished
  std::string finish_reason;  // "stop" (end of generation or stop string), "length", "cancelled"

  // Prompt tokens actually evaluated per second, and decode steps per second.
  double prefill_tok_s() const {
    return prefill_s > 0 ? static_cast<double>(prompt_tokens - cached_tokens) / prefill_s : 0;
  }
  double decode_tok_s() const {
    return decode_s > 0 ? static_cast<double>(decode_steps) / decode_s : 0;
  }
};

struct GenerationEvent {
  int id = 0;
  std::string text;  // new text to show (may be empty: held back by UTF-8 or a stop prefix)
  bool finished = false;
};

// Thread-safety: a Generator is single-threaded. submit, step, cancel, result, release and
// generate must all be called from one thread at a time (the server's scheduler thread owns it
// and takes requests from other threads through its own queue). Several Generators may share
// one LanguageModel and one ThreadPool (the pool serializes their parallel sections).
class Generator {
 public:
  static Result<std::unique_ptr<Generator>> create(const LanguageModel& model,
                                                   const GeneratorOptions& options);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Queues a request; returns its id. kInvalidArgument for an empty prompt, bad sampling
  // parameters, max_tokens 0 or < -1, ids outside the vocabulary; kResourceExhausted when the
  // prompt does not fit the context with room for one generated token.
  Result<int> submit(GenerationRequest request);
  // One forward step over everything running; appends what happened to events. Does nothing
  // when idle.
  Status step(std::vector<GenerationEvent>& events);
  bool busy() const;
  // Stops a request at the next step (finish_reason "cancelled").
  void cancel(int id);
  // The result of a finished request (nullptr while running or unknown); release() forgets it.
  const GenerationResult* result(int id) const;
  void release(int id);

  // Runs one request to completion alone, streaming text to on_text (return false to cancel).
  Result<GenerationResult> generate(GenerationRequest request,
                                    const std::function<bool(std::string_view)>& on_text = {});

  const LanguageModel& model() const { return model_; }
  const KvCache& cache() const { return cache_; }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  ThreadPool& pool() { return *pool_; }

 private:
  struct Running;
  struct Cached {
    int seq;
    std::vector<TokenId> tokens;  // whose K/V the sequence holds
    uint64_t last_used;
  };
  Generator(const LanguageModel& model, const GeneratorOptions& options, KvCache cache);
  Status start(Running& r);
  void finish(Running& r, std::string reason, std::vector<GenerationEvent>& events);
  void accept_token(Running& r, TokenId token, std::vector<GenerationEvent>& events);
  TokenId sample(Running& r, std::span<const float> logits);

  const LanguageModel& model_;
  GeneratorOptions options_;
  KvCache cache_;
  std::unique_ptr<ThreadPool> owned_pool_;  // null when options.pool was given
  ThreadPool* pool_;
  DecoderScratch scratch_;
  std::vector<float> logits_;
  std::vector<std::unique_ptr<Running>> queue_;  // submitted, in order; started when room
  std::vector<Cached> cached_;
  std::vector<std::pair<int, GenerationResult>> done_;
  int next_id_ = 1;
  uint64_t clock_ = 0;
};

}  // namespace quire::engine
