// Generation benchmark (JSON on stdout), the shapes of ../shared/bench/ANCHORS.md: random-weight
// models of Qwen2.5-0.5B's shape (Q4_K_M, Q8_0, real Qwen2 vocabulary) and TinyLlama-1.1B's
// (Q4_K_M, real llama vocabulary), written by tests/support/model_gen into --models-dir once.
// Per model: prefill tokens/s on a 512-token prompt, decode tokens/s over 128 tokens, decode as a
// fraction of the bandwidth bound (read bandwidth measured in this run / weight bytes one decode
// step reads), and aggregate decode tokens/s of 1, 4 and 8 concurrent sequences (64 tokens each,
// short prompts, wall time of the whole burst, as llama.cpp's server anchor). Medians of --reps.
// Usage: bench_generate [--threads N] [--reps N] [--models-dir DIR] [--shared DIR]
//                       [--only NAME] [--kv-type f16|q8_0]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/machine_limits.h"
#include "engine/core/cpu_features.h"
#include "engine/core/timer.h"
#include "engine/runtime/generator.h"
#include "tests/support/model_gen.h"

namespace {

using namespace quire;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct BenchModel {
  std::string name;
  test::DecoderShape shape;
  std::string vocab;  // conformance/vocab/<file>
  double anchor_pp512, anchor_tg128;
};

std::vector<engine::TokenId> random_prompt(int64_t n, int64_t n_vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<engine::TokenId> ids;
  // Ordinary tokens, away from the control/byte ids at the start of most vocabularies.
  const int64_t lo = 300, hi = std::min<int64_t>(n_vocab, 30000);
  for (int64_t i = 0; i < n; ++i) {
    ids.push_back(static_cast<engine::TokenId>(lo + static_cast<int64_t>(rng() % (hi - lo))));
  }
  return ids;
}

engine::GenerationRequest request(std::vector<engine::TokenId> prompt, int64_t n) {
  engine::GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;  // greedy: sampling cost is not what is measured
  r.max_tokens = n;
  r.ignore_eos = true;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 3;
  const char* env_shared = std::getenv("QUIRE_SHARED_DIR");
  std::string shared = env_shared != nullptr ? env_shared : "../shared";
  std::string models_dir = "build/bench-models", only, kv = "f16";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && has_value) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--models-dir" && has_value) {
      models_dir = argv[++i];
    } else if (a == "--shared" && has_value) {
      shared = argv[++i];
    } else if (a == "--only" && has_value) {
      only = argv[++i];
    } else if (a == "--kv-type" && has_value) {
      kv = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--reps N] [--models-dir DIR] [--shared DIR] "
                   "[--only NAME] [--kv-type f16|q8_0]\n",
                   argv[0]);
      return 2;
    }
  }
  auto kv_type = engine::parse_kv_type(kv);
  if (!kv_type.ok()) {
    std::fprintf(stderr, "bench_generate: %s\n", kv_type.status().message().c_str());
    return 2;
  }
  std::filesystem::create_directories(models_dir);
  const std::vector<BenchModel> models = {
      {"qwen2.5-0.5b-q4_k_m", test::qwen25_05b_shape("Q4_K_M"), "ggml-vocab-qwen2.gguf", 90, 39},
      {"qwen2.5-0.5b-q8_0", test::qwen25_05b_shape("Q8_0"), "ggml-vocab-qwen2.gguf", 137, 33.5},
      {"tinyllama-1.1b-q4_k_m", test::tinyllama_shape("Q4_K_M"), "ggml-vocab-llama-spm.gguf", 41,
       26},
  };

  ThreadPool limits_pool(threads);
  const bench::MachineLimits limits = bench::measure_machine_limits(limits_pool);
  nlohmann::ordered_json out;
  out["benchmark"] = "generation";
  out["threads"] = threads;
  out["cpu"] = cpu_features().to_string();
  out["kv_type"] = kv;
  out["reps"] = reps;
  out["machine"] = {{"read_gbps", limits.read_gbps}, {"fma_gflops", limits.fma_gflops}};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();

  for (const BenchModel& bm : models) {
    if (!only.empty() && bm.name.find(only) == std::string::npos) continue;
    const std::string path = models_dir + "/" + bm.name + ".gguf";
    if (!std::filesystem::exists(path)) {
      auto vocab = engine::gguf::GgufFile::open(shared + "/conformance/vocab/" + bm.vocab);
      if (!vocab.ok()) {
        std::fprintf(stderr, "bench_generate: %s\n", vocab.status().message().c_str());
        return 1;
      }
      std::fprintf(stderr, "bench_generate: writing %s ...\n", path.c_str());
      Timer t;
      test::DecoderShape shape = bm.shape;
      shape.name = bm.name;
      const Status s = test::write_random_decoder(path, shape, *vocab, threads);
      if (!s.ok()) {
        std::fprintf(stderr, "bench_generate: %s\n", s.message().c_str());
        return 1;
      }
      std::fprintf(stderr, "bench_generate: wrote %s in %.1f s\n", path.c_str(), t.elapsed_s());
    }
    auto lm = engine::LanguageModel::open(path);
    if (!lm.ok()) {
      std::fprintf(stderr, "bench_generate: %s\n", lm.status().message().c_str());
      return 1;
    }
    const int64_t n_vocab = (*lm)->decoder().hparams().n_vocab;
    engine::GeneratorOptions opt;
    opt.threads = threads;
    opt.n_ctx = 1024;
    opt.kv_type = *kv_type;
    opt.cached_sequences = 0;
    auto gen = engine::Generator::create(**lm, opt);
    if (!gen.ok()) {
      std::fprintf(stderr, "bench_generate: %s\n", gen.status().message().c_str());
      return 1;
    }
    auto run = [&](engine::GenerationRequest r) {
      auto result = (*gen)->generate(std::move(r));
      if (!result.ok()) {
        std::fprintf(stderr, "bench_generate: %s\n", result.status().message().c_str());
        std::exit(1);
      }
      return *result;
    };
    // Warm-up: page the weights in.
    run(request(random_prompt(32, n_vocab, 1), 4));

    std::vector<double> pp, tg;
    for (int rep = 0; rep < reps; ++rep) {
      pp.push_back(run(request(random_prompt(512, n_vocab, 10 + rep), 1)).prefill_tok_s());
      tg.push_back(run(request(random_prompt(1, n_vocab, 20 + rep), 129)).decode_tok_s());
    }
    const double bytes_per_token = static_cast<double>((*lm)->decoder().weight_bytes_per_token());
    const double bound = limits.read_gbps * 1e9 / bytes_per_token;
    const double decode = median(tg);

    nlohmann::ordered_json concurrent = nlohmann::ordered_json::array();
    double single = 0;
    for (int n_seq : {1, 4, 8}) {
      std::vector<double> agg;
      for (int rep = 0; rep < reps; ++rep) {
        engine::GeneratorOptions o = opt;
        o.max_sequences = 8;
        auto g = engine::Generator::create(**lm, o);
        std::vector<engine::GenerationEvent> events;
        Timer t;
        for (int s = 0; s < n_seq; ++s) {
          auto id = (*g)->submit(request(random_prompt(8, n_vocab, 100 + s + 10 * rep), 64));
          if (!id.ok()) return 1;
        }
        while ((*g)->busy()) {
          if (!(*g)->step(events).ok()) return 1;
        }
        agg.push_back(64.0 * n_seq / t.elapsed_s());
      }
      const double m = median(agg);
      if (n_seq == 1) single = m;
      concurrent.push_back(
          {{"sequences", n_seq}, {"aggregate_tok_s", m}, {"vs_one", single > 0 ? m / single : 0}});
    }
    nlohmann::ordered_json row;
    row["model"] = bm.name;
    row["file_bytes"] = std::filesystem::file_size(path);
    row["weight_bytes_per_token"] = bytes_per_token;
    row["prefill_512_tok_s"] = median(pp);
    row["decode_128_tok_s"] = decode;
    row["bandwidth_bound_tok_s"] = bound;
    row["decode_vs_bound"] = decode / bound;
    row["llama_cpp_anchor"] = {{"pp512", bm.anchor_pp512}, {"tg128", bm.anchor_tg128}};
    row["decode_vs_llama_cpp"] = decode / bm.anchor_tg128;
    row["prefill_vs_llama_cpp"] = median(pp) / bm.anchor_pp512;
    row["concurrent"] = concurrent;
    rows.push_back(row);
    std::fprintf(stderr, "%s\n", row.dump().c_str());
  }
  out["models"] = rows;
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
