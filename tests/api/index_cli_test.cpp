// `quire index` / `search` / `docs` / `eval` end to end: the real binary on the real papers,
// incremental re-runs, deletions, page attribution against pdftotext, and SIGKILL crash safety.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "index/store.h"
#include "tests/support/test_support.h"

namespace quire {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

test::CommandResult quire(std::vector<std::string> args) {
  args.insert(args.begin(), test::quire_binary());
  return test::run_command(args);
}

struct Summary {
  int64_t indexed = -1, unchanged = -1, removed = -1, failed = -1;
};

Summary parse_summary(const std::string& err) {
  Summary s;
  const size_t at = err.rfind("indexed ");
  if (at == std::string::npos) return s;
  long long indexed, unchanged, removed, failed;
  if (std::sscanf(err.c_str() + at, "indexed %lld, unchanged %lld, removed %lld, failed %lld",
                  &indexed, &unchanged, &removed, &failed) == 4) {
    s = Summary{indexed, unchanged, removed, failed};
  }
  return s;
}

std::vector<uint8_t> bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::string papers() {
  return test::shared_dir() + "/data/papers";
}
std::string tiny_bert() {
  return test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf";
}

// Letters and digits only, lower-cased: robust to line breaks, hyphenation and ligatures.
std::string alnum(const std::string& s_in) {
  // pdftotext keeps ligature characters that the normalizer expands.
  std::string s = s_in;
  const std::pair<const char*, const char*> ligatures[] = {
      {"\xef\xac\x80", "ff"},  {"\xef\xac\x81", "fi"},  {"\xef\xac\x82", "fl"},
      {"\xef\xac\x83", "ffi"}, {"\xef\xac\x84", "ffl"}, {"\xef\xac\x85", "st"},
      {"\xef\xac\x86", "st"}};
  for (const auto& [from, to] : ligatures) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p)) s.replace(p, 3, to);
  }
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

TEST(IndexCliTest, AllPapersIndexAndRerunIsIncremental) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir db;
  const auto t0 = std::chrono::steady_clock::now();
  auto first = quire({"index", papers(), test::shared_dir() + "/data/bad", "--db", db.path()});
  const double first_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Summary s1 = parse_summary(first.err);
  EXPECT_EQ(s1.indexed, 77) << first.err;  // 78 papers minus the image-only scan
  EXPECT_EQ(s1.failed, 4) << first.err;    // the scan + 3 bad files
  EXPECT_NE(first.err.find("no extractable text (scanned image?)"), std::string::npos) << first.err;
  for (const char* bad : {"bad-random.pdf", "bad-text-named.pdf", "bad-truncated.pdf"}) {
    EXPECT_NE(first.err.find(std::string("failed: ") + test::shared_dir() + "/data/bad/" + bad),
              std::string::npos)
        << bad << "\n"
        << first.err;
  }
  EXPECT_NE(first.err.find("BM25 only"), std::string::npos);

  const auto t1 = std::chrono::steady_clock::now();
  auto second = quire({"index", papers(), test::shared_dir() + "/data/bad", "--db", db.path()});
  const double second_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  Summary s2 = parse_summary(second.err);
  EXPECT_EQ(s2.indexed, 0) << second.err;
  EXPECT_EQ(s2.removed, 0);
  EXPECT_EQ(s2.unchanged, 81) << second.err;  // every supported file, failed ones included
  EXPECT_LT(second_s, 0.10 * first_s) << "first " << first_s << " s, second " << second_s << " s";
  std::printf("  first run %.2f s, second run %.3f s (%.1f%%)\n", first_s, second_s,
              100 * second_s / first_s);

  // The documents are listed and searchable.
  auto list = quire({"docs", "list", "--db", db.path(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out).size(), 81u);
  auto search =
      quire({"search", "Transformer model architecture based solely on attention mechanisms",
             "--db", db.path(), "--json", "--mode", "bm25"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  json hits = json::parse(search.out)["results"];
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(hits[0]["path"].get<std::string>().find("1706.03762"), std::string::npos)
      << hits[0]["path"];
}

TEST(IndexCliTest, PageAttributionMatchesPdftotext) {
  QUIRE_REQUIRE_SHARED();
  if (std::system("pdftotext -v >/dev/null 2>&1") != 0) GTEST_SKIP() << "pdftotext not installed";
  test::TempDir db, docs;
  // Three papers: one two-column arXiv paper and two others.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(papers())) {
    if (e.path().extension() == ".pdf") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (size_t i : {size_t{0}, names.size() / 2, names.size() - 3}) {
    fs::copy_file(papers() + "/" + names[i], docs.file(names[i]));
  }
  auto r = quire({"index", docs.path(), "--db", db.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto store = index::Store::open(db.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto documents = (*store)->list_documents();
  ASSERT_TRUE(documents.ok());
  std::vector<std::pair<index::DocumentRecord, index::ChunkRecord>> all;
  for (const auto& d : *documents) {
    auto chunks = (*store)->chunks_of(d.id);
    ASSERT_TRUE(chunks.ok());
    for (const auto& c : *chunks) all.emplace_back(d, c);
  }
  ASSERT_GE(all.size(), 20u);
  std::mt19937 rng(17);
  std::shuffle(all.begin(), all.end(), rng);
  int checked = 0, total_windows = 0, total_found = 0;
  for (size_t i = 0; i < all.size() && checked < 20; ++i) {
    const auto& [doc, chunk] = all[i];
    const std::string out = docs.file("page.txt");
    auto t = test::run_command({"/usr/bin/pdftotext", "-f", std::to_string(chunk.page_start), "-l",
                                std::to_string(chunk.page_end), doc.path, out});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    const std::string page = alnum(test::read_text_file(out));
    // Every window of 8 consecutive words of the chunk must occur in those pages' text, except
    // windows that straddle a page break, where the normalizer removed a running header or a
    // page number that pdftotext keeps: at least 90% of the windows, and in practice ~all.
    std::vector<std::string> words;
    {
      std::string w;
      for (char ch : chunk.text + " ") {
        if (std::isspace(static_cast<unsigned char>(ch))) {
          if (!alnum(w).empty()) words.push_back(alnum(w));
          w.clear();
        } else {
          w += ch;
        }
      }
    }
    int windows = 0, found = 0;
    for (size_t w = 0; w + 8 <= words.size(); w += 4) {
      std::string window;
      for (size_t j = w; j < w + 8; ++j) window += words[j];
      ++windows;
      found += page.find(window) != std::string::npos ? 1 : 0;
    }
    ASSERT_GT(windows, 0);
    EXPECT_GE(found, 0.9 * windows)
        << doc.path << " pages " << chunk.page_start << "-" << chunk.page_end << ": " << found
        << "/" << windows << " windows found; text: " << chunk.text.substr(0, 300);
    total_windows += windows;
    total_found += found;
    ++checked;
  }
  EXPECT_EQ(checked, 20);
  std::printf(
      "  page attribution: %d of %d 8-word windows of 20 chunks found in pdftotext's pages\n",
      total_found, total_windows);
}

TEST(IndexCliTest, ChangedAndDeletedFiles) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir db, docs;
  std::vector<std::string> names = {"1706.03762.pdf", "2205.14135.pdf"};
  for (const auto& n : names) fs::copy_file(papers() + "/" + n, docs.file(n));
  test::write_file(docs.file("notes.txt"), bytes("Flash attention."));
  test::write_file(docs.file("page.html"),
                   bytes("<html><title>T</title><body><p>Zebra quokka numbat.</p>"
                         "<script>var x;</script></body></html>"));
  auto first = quire({"index", docs.path(), "--db", db.path(), "--embed-model", tiny_bert()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(parse_summary(first.err).indexed, 4) << first.err;

  // Touching a file without changing it: looked at, not re-indexed.
  fs::last_write_time(docs.file("notes.txt"), fs::file_time_type::clock::now());
  auto touched = quire({"index", docs.path(), "--db", db.path()});
  ASSERT_EQ(touched.exit_code, 0) << touched.err;
  EXPECT_EQ(parse_summary(touched.err).indexed, 0) << touched.err;
  // Changing one file re-indexes only it (the model is remembered by the index).
  test::write_file(docs.file("notes.txt"), bytes("New words."));
  auto changed = quire({"index", docs.path(), "--db", db.path()});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  Summary s = parse_summary(changed.err);
  EXPECT_EQ(s.indexed, 1) << changed.err;
  EXPECT_EQ(s.unchanged, 3);
  EXPECT_NE(changed.err.find("notes.txt"), std::string::npos);

  // Deleting one removes its rows from SQLite, FTS5 and FAISS.
  auto before = index::Store::open(db.path());
  ASSERT_TRUE(before.ok());
  auto doc = (*before)->find_document(docs.file("2205.14135.pdf"));
  ASSERT_TRUE(doc.ok() && doc->has_value());
  auto doc_chunks = (*before)->chunks_of((*doc)->id);
  ASSERT_TRUE(doc_chunks.ok());
  const int64_t chunks_before = *(*before)->chunk_count();
  const int64_t vectors_before = *(*before)->vector_count();
  EXPECT_EQ(chunks_before, vectors_before);
  before->reset();
  fs::remove(docs.file("2205.14135.pdf"));
  auto deleted = quire({"index", docs.path(), "--db", db.path()});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(parse_summary(deleted.err).removed, 1) << deleted.err;
  auto after = index::Store::open(db.path());
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE((*after)->find_document(docs.file("2205.14135.pdf"))->has_value());
  EXPECT_EQ(*(*after)->chunk_count(), chunks_before - static_cast<int64_t>(doc_chunks->size()));
  EXPECT_EQ(*(*after)->vector_count(), *(*after)->chunk_count());
  auto bm25 = (*after)->search_bm25("FlashAttention IO-aware exact attention", 50);
  ASSERT_TRUE(bm25.ok());
  std::set<int64_t> gone;
  for (const auto& c : *doc_chunks) gone.insert(c.id);
  for (const auto& h : *bm25)
    EXPECT_FALSE(gone.count(h.chunk_id)) << "FTS5 still has a deleted chunk";
  // The HTML's script was dropped, its text kept.
  auto html = quire({"search", "quokka", "--db", db.path(), "--mode", "bm25", "--json"});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  auto hits = json::parse(html.out)["results"];
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["text"].get<std::string>().find("var x"), std::string::npos);
  // Hybrid search uses the remembered model.
  auto hybrid = quire({"search", "memory efficient attention", "--db", db.path(), "--json"});
  ASSERT_EQ(hybrid.exit_code, 0) << hybrid.err;
  EXPECT_EQ(json::parse(hybrid.out)["mode"], "hybrid");
}

TEST(IndexCliTest, DifferentModelIsRefusedUntilReembed) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir db, docs;
  test::write_file(docs.file("a.txt"), bytes("hello"));
  ASSERT_EQ(
      quire({"index", docs.path(), "--db", db.path(), "--embed-model", tiny_bert()}).exit_code, 0);
  const std::string other = test::shared_dir() + "/conformance/models/bert-tiny-q8_0.gguf";
  auto refused = quire({"index", docs.path(), "--db", db.path(), "--embed-model", other});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;  // FAILED_PRECONDITION
  EXPECT_NE(refused.err.find("--reembed"), std::string::npos) << refused.err;
  auto reembed =
      quire({"index", docs.path(), "--db", db.path(), "--embed-model", other, "--reembed"});
  EXPECT_EQ(reembed.exit_code, 0) << reembed.err;
  EXPECT_EQ(parse_summary(reembed.err).indexed, 1) << reembed.err;
}

// Starts `quire index`, kills it with SIGKILL after `lines` progress lines (or `delay`), and
// returns the paths it reported indexed before dying.
std::vector<std::string> index_and_kill(const std::string& docs, const std::string& db, int lines,
                                        std::chrono::milliseconds delay) {
  int err_pipe[2];
  EXPECT_EQ(::pipe(err_pipe), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(err_pipe[0]);
    const std::string bin = test::quire_binary();
    const std::string model = tiny_bert();
    ::execl(bin.c_str(), bin.c_str(), "index", docs.c_str(), "--db", db.c_str(), "--embed-model",
            model.c_str(), "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  std::string err;
  std::vector<std::string> done;
  const auto start = std::chrono::steady_clock::now();
  char buf[4096];
  int seen = 0;
  bool killed = false;
  for (;;) {
    pollfd pfd{err_pipe[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 5);
    if (ready > 0) {
      ssize_t n = ::read(err_pipe[0], buf, sizeof(buf));
      if (n <= 0) break;
      err.append(buf, static_cast<size_t>(n));
      size_t pos;
      while ((pos = err.find('\n')) != std::string::npos) {
        std::string line = err.substr(0, pos);
        err.erase(0, pos + 1);
        const std::string tag = " indexed ";
        if (auto p = line.find(tag); p != std::string::npos) {
          done.push_back(line.substr(p + tag.size()));
          ++seen;
        }
      }
    }
    if (!killed && ((lines > 0 && seen >= lines) ||
                    (lines == 0 && std::chrono::steady_clock::now() - start >= delay))) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(err_pipe[0]);
  return done;
}

TEST(IndexCliTest, SurvivesSigkillAtAnyPoint) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir db, docs;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(papers())) {
    if (e.path().extension() == ".pdf") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < 12; ++i) fs::copy_file(papers() + "/" + names[i], docs.file(names[i]));

  std::set<std::string> reported;
  // Between files (after 2 and 5 reported documents), then at several times mid-run.
  for (auto [lines, ms] :
       std::vector<std::pair<int, int>>{{2, 0}, {5, 0}, {0, 150}, {0, 400}, {0, 900}}) {
    for (const auto& p :
         index_and_kill(docs.path(), db.path(), lines, std::chrono::milliseconds(ms))) {
      reported.insert(p);
    }
    // Every document reported done is complete and searchable after a reopen.
    auto store = index::Store::open(db.path());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto chunks = (*store)->chunk_count();
    auto vectors = (*store)->vector_count();
    ASSERT_TRUE(chunks.ok() && vectors.ok());
    EXPECT_EQ(*chunks, *vectors) << "every stored chunk has its vector in FAISS";
    for (const auto& path : reported) {
      auto doc = (*store)->find_document(path);
      ASSERT_TRUE(doc.ok() && doc->has_value()) << path;
      EXPECT_EQ((*doc)->status, "indexed");
      auto doc_chunks = (*store)->chunks_of((*doc)->id);
      ASSERT_TRUE(doc_chunks.ok());
      EXPECT_FALSE(doc_chunks->empty()) << path;
      std::set<int64_t> ords;
      for (const auto& c : *doc_chunks) EXPECT_TRUE(ords.insert(c.ord).second) << "duplicate chunk";
    }
    // No temporary files survive a reopen.
    for (const auto& e : fs::directory_iterator(db.path())) {
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
  }
  // A final uninterrupted run completes the index without duplicates.
  auto final_run = quire({"index", docs.path(), "--db", db.path()});
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err;
  auto store = index::Store::open(db.path());
  ASSERT_TRUE(store.ok());
  auto docs_list = (*store)->list_documents();
  ASSERT_TRUE(docs_list.ok());
  EXPECT_EQ(docs_list->size(), 12u);
  EXPECT_EQ(*(*store)->chunk_count(), *(*store)->vector_count());
}

// Deterministic kills at named points (engine/core/crash_point.h): after embedding before the
// commit, after the commit before the report, and between the FAISS temporary file and its
// rename. The next run repairs, reports it, and ends with every document whole.
TEST(IndexCliTest, SurvivesKillAtNamedCrashPoints) {
  QUIRE_REQUIRE_SHARED();
  for (const char* point : {"before-put", "after-put", "vectors-saved"}) {
    test::TempDir db, docs;
    for (const char* n : {"1706.03762.pdf", "2205.14135.pdf", "2203.14465.pdf"}) {
      fs::copy_file(papers() + "/" + n, docs.file(n));
    }
    ::setenv("QUIRE_CRASH_POINT", point, 1);
    auto killed = quire({"index", docs.path(), "--db", db.path(), "--embed-model", tiny_bert()});
    ::unsetenv("QUIRE_CRASH_POINT");
    EXPECT_EQ(killed.signal, SIGKILL) << point << ": " << killed.err;
    auto rerun = quire({"index", docs.path(), "--db", db.path()});
    ASSERT_EQ(rerun.exit_code, 0) << point << ": " << rerun.err;
    if (std::string(point) == "vectors-saved") {
      // Everything was committed; only the FAISS file was lost: rebuilt and reported.
      EXPECT_NE(rerun.err.find("repaired the index"), std::string::npos) << rerun.err;
      EXPECT_EQ(parse_summary(rerun.err).indexed, 0) << rerun.err;
    }
    auto store = index::Store::open(db.path());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_EQ((*store)->list_documents()->size(), 3u) << point;
    EXPECT_EQ(*(*store)->chunk_count(), *(*store)->vector_count()) << point;
    auto hits = (*store)->search_bm25("attention", 5);
    ASSERT_TRUE(hits.ok());
    EXPECT_FALSE(hits->empty());
    for (const auto& e : fs::directory_iterator(db.path())) {
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
  }
}

TEST(EvalCliTest, SciFactBm25) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir db;
  auto r = quire({"eval", "beir", test::shared_dir() + "/data/scifact", "--split", "train",
                  "--mode", "bm25", "--db", db.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json m = json::parse(r.out);
  EXPECT_EQ(m["queries"], 809);
  EXPECT_GE(m["ndcg@10"].get<double>(), 0.66) << r.out;
  EXPECT_GT(m["recall@100"].get<double>(), m["recall@10"].get<double>());
  std::printf("  SciFact train BM25: nDCG@10 %.4f  R@10 %.4f  R@100 %.4f  MRR@10 %.4f\n",
              m["ndcg@10"].get<double>(), m["recall@10"].get<double>(),
              m["recall@100"].get<double>(), m["mrr@10"].get<double>());
}

}  // namespace
}  // namespace quire
