// Ingestion benchmark (JSON on stdout): pages/s and chunks/s for indexing a folder of papers
// (default ../shared/data/papers), BM25-only and with an embedding model (default: a random
// model of all-MiniLM-L6-v2's shape, F16, generated with the real bge vocabulary), with the time
// split by stage: extract, normalize, chunk, embed, write. Extraction runs on its own thread
// alongside embedding and writing, so the stage times add up to more than the wall time.
// Usage: bench_ingest [--papers DIR] [--threads N] [--shared DIR] [--models-dir DIR]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/runtime/embedder.h"
#include "index/store.h"
#include "ingest/pipeline.h"
#include "tests/support/model_gen.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace quire;
  const char* env_shared = std::getenv("QUIRE_SHARED_DIR");
  std::string shared = env_shared != nullptr ? env_shared : "../shared";
  std::string papers, models_dir = "build/bench-models";
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--papers") {
      papers = argv[i + 1];
    } else if (a == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (a == "--shared") {
      shared = argv[i + 1];
    } else if (a == "--models-dir") {
      models_dir = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--papers DIR] [--threads N] [--shared DIR] [--models-dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (papers.empty()) papers = shared + "/data/papers";
  fs::create_directories(models_dir);
  const std::string model = models_dir + "/random-minilm-l6-F16.gguf";
  if (!fs::exists(model)) {
    auto vocab =
        engine::gguf::GgufFile::open(shared + "/conformance/vocab/ggml-vocab-bert-bge.gguf");
    if (!vocab.ok()) {
      std::fprintf(stderr, "bench_ingest: %s\n", vocab.status().message().c_str());
      return 1;
    }
    Status s = test::write_random_bert(model, test::minilm_l6_shape(engine::GgmlType::F16), *vocab);
    if (!s.ok()) {
      std::fprintf(stderr, "bench_ingest: %s\n", s.message().c_str());
      return 1;
    }
  }
  nlohmann::ordered_json out;
  out["benchmark"] = "ingest";
  out["papers"] = papers;
  out["threads"] = threads;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (bool dense : {false, true}) {
    const std::string db = fs::temp_directory_path().string() + "/quire-bench-ingest-" +
                           std::to_string(::getpid()) + (dense ? "-dense" : "-bm25");
    fs::remove_all(db);
    auto store = index::Store::open(db);
    if (!store.ok()) {
      std::fprintf(stderr, "bench_ingest: %s\n", store.status().message().c_str());
      return 1;
    }
    std::unique_ptr<engine::Embedder> embedder;
    if (dense) {
      engine::EmbedderOptions options;
      options.threads = threads;
      auto e = engine::open_embedder(model, options);
      if (!e.ok()) {
        std::fprintf(stderr, "bench_ingest: %s\n", e.status().message().c_str());
        return 1;
      }
      embedder = std::move(e).value();
    }
    ingest::IndexPipeline pipeline(**store, embedder.get(), {});
    auto summary = pipeline.index_paths({papers});
    if (!summary.ok()) {
      std::fprintf(stderr, "bench_ingest: %s\n", summary.status().message().c_str());
      return 1;
    }
    const auto& s = *summary;
    rows.push_back({{"mode", dense ? "bm25+dense (MiniLM-L6 shape, F16)" : "bm25 only"},
                    {"documents", s.indexed},
                    {"failed", s.failed},
                    {"pages", s.pages},
                    {"chunks", s.chunks},
                    {"seconds", s.seconds},
                    {"pages_per_s", static_cast<double>(s.pages) / s.seconds},
                    {"chunks_per_s", static_cast<double>(s.chunks) / s.seconds},
                    {"stage_seconds",
                     {{"extract", s.stages.extract},
                      {"normalize", s.stages.normalize},
                      {"chunk", s.stages.chunk},
                      {"embed", s.stages.embed},
                      {"write", s.stages.write}}}});
    store->reset();
    fs::remove_all(db);
  }
  out["results"] = rows;
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
