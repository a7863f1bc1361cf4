// Embedding benchmark (JSON on stdout): embeddings/s and tokens/s on SciFact abstracts truncated
// to 128 and 256 tokens, for random-weight models of all-MiniLM-L6-v2's shape (F16, Q8_0) and
// bge-base's shape (F16, Q8_0) generated with the real bge vocabulary, and the achieved GFLOP/s
// as a fraction of the FMA peak measured by the same program.
// Usage: bench_embed [--threads N] [--texts N] [--models-dir DIR] [--shared DIR]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/machine_limits.h"
#include "engine/core/cpu_features.h"
#include "engine/runtime/embedder.h"
#include "tests/support/model_gen.h"

namespace {

using namespace quire;

// FLOPs of one encoder pass over a text of `len` tokens: per layer the six products
// (4 e^2 + 2 e f multiply-adds per token) and attention (2 len^2 e multiply-adds).
double encoder_flops(const test::BertShape& s, int64_t len) {
  const double e = static_cast<double>(s.n_embd), f = static_cast<double>(s.n_ff);
  const double l = static_cast<double>(len);
  return static_cast<double>(s.n_layer) * 2.0 * (l * (4 * e * e + 2 * e * f) + 2 * l * l * e);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  size_t n_texts = 1000;
  const char* env_shared = std::getenv("QUIRE_SHARED_DIR");
  std::string shared = env_shared != nullptr ? env_shared : "../shared";
  std::string models_dir = "build/bench-models";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (a == "--texts") {
      n_texts = static_cast<size_t>(std::atoll(argv[i + 1]));
    } else if (a == "--models-dir") {
      models_dir = argv[i + 1];
    } else if (a == "--shared") {
      shared = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--threads N] [--texts N] [--models-dir DIR] [--shared DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  auto vocab = engine::gguf::GgufFile::open(shared + "/conformance/vocab/ggml-vocab-bert-bge.gguf");
  if (!vocab.ok()) {
    std::fprintf(stderr, "bench_embed: %s\n", vocab.status().message().c_str());
    return 1;
  }
  std::vector<std::string> texts;
  {
    std::ifstream corpus(shared + "/data/scifact/corpus.jsonl");
    std::string line;
    while (texts.size() < n_texts && std::getline(corpus, line)) {
      texts.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
    }
  }
  if (texts.empty()) {
    std::fprintf(stderr, "bench_embed: no texts in %s/data/scifact/corpus.jsonl\n", shared.c_str());
    return 1;
  }
  std::filesystem::create_directories(models_dir);

  ThreadPool pool(threads);
  const double fma_peak = bench::measure_fma_peak(pool, 5);
  nlohmann::ordered_json out;
  out["benchmark"] = "embeddings";
  out["threads"] = threads;
  out["cpu"] = cpu_features().to_string();
  out["texts"] = texts.size();
  out["machine"] = {{"fma_gflops", fma_peak}};
  out["llama_cpp_anchor_tokens_per_s"] = {{"minilm_f16", 810}, {"minilm_q8_0", 506}};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();

  const std::vector<test::BertShape> shapes = {
      test::minilm_l6_shape(engine::GgmlType::F16), test::minilm_l6_shape(engine::GgmlType::Q8_0),
      test::bge_base_shape(engine::GgmlType::F16), test::bge_base_shape(engine::GgmlType::Q8_0)};
  for (const auto& shape : shapes) {
    const std::string type(engine::ggml_type_name(shape.weight_type));
    const std::string path = models_dir + "/" + shape.name + "-" + type + ".gguf";
    if (!std::filesystem::exists(path)) {
      Status s = test::write_random_bert(path, shape, *vocab);
      if (!s.ok()) {
        std::fprintf(stderr, "bench_embed: %s\n", s.message().c_str());
        return 1;
      }
    }
    for (int64_t max_tokens : {128, 256}) {
      engine::EmbedderOptions options;
      options.threads = threads;
      options.max_tokens = max_tokens;
      auto embedder = engine::open_embedder(path, options);
      if (!embedder.ok()) {
        std::fprintf(stderr, "bench_embed: %s\n", embedder.status().message().c_str());
        return 1;
      }
      // Warm-up (page in the weights), then the measured run over all texts.
      std::vector<std::string> warm(texts.begin(),
                                    texts.begin() + std::min<size_t>(16, texts.size()));
      (void)(*embedder)->embed(warm);
      engine::EmbedStats stats;
      auto vectors = (*embedder)->embed(texts, &stats);
      if (!vectors.ok()) {
        std::fprintf(stderr, "bench_embed: %s\n", vectors.status().message().c_str());
        return 1;
      }
      // FLOPs from the actual token counts of every text.
      double flops = 0;
      for (const auto& t : texts) {
        auto ids = (*embedder)->tokenizer().encode(t, true, false);
        flops +=
            encoder_flops(shape, std::min<int64_t>(static_cast<int64_t>(ids.size()), max_tokens));
      }
      const double gflops = flops / stats.seconds * 1e-9;
      rows.push_back({{"model", shape.name},
                      {"type", type},
                      {"max_tokens", max_tokens},
                      {"texts", stats.texts},
                      {"tokens", stats.tokens},
                      {"truncated", stats.truncated},
                      {"seconds", stats.seconds},
                      {"texts_per_s", static_cast<double>(stats.texts) / stats.seconds},
                      {"tokens_per_s", static_cast<double>(stats.tokens) / stats.seconds},
                      {"gflops", gflops},
                      {"fraction_of_fma_peak", gflops / fma_peak}});
      std::fprintf(stderr, "%s %s %lld: %.0f tokens/s\n", shape.name.c_str(), type.c_str(),
                   static_cast<long long>(max_tokens),
                   static_cast<double>(stats.tokens) / stats.seconds);
    }
  }
  out["results"] = rows;
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
