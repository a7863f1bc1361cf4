#include "ingest/extract.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/chunker.h"
#include "ingest/normalize.h"
#include "tests/support/test_support.h"

// Sanitizer builds: poppler initializes fontconfig once per process and never frees it (288
// bytes in libfontconfig); that is not a leak of ours.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libfontconfig.so\n";
}

namespace quire::ingest {
namespace {

using quire::test::TempDir;

constexpr const char* kImageOnlyScan =
    "distributed_systems__a-hundred-impossibility-proofs-for-distributed-computing.pdf";
constexpr const char* kPdftotext = "/usr/bin/pdftotext";

std::string papers_dir() {
  return quire::test::shared_dir() + "/data/papers";
}
std::string paper(const std::string& name) {
  return papers_dir() + "/" + name;
}

void write_text(const std::string& path, const std::string& text) {
  quire::test::write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// file -> page count, from SOURCES.tsv (header line, tab-separated, pages last).
std::map<std::string, int64_t> expected_page_counts() {
  std::map<std::string, int64_t> out;
  std::istringstream in(quire::test::read_text_file(papers_dir() + "/SOURCES.tsv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string file = line.substr(0, line.find('\t'));
    out[file] = std::stoll(line.substr(line.rfind('\t') + 1));
  }
  return out;
}

// Captures what the process writes to stderr (fd 2) while alive.
class StderrCapture {
 public:
  StderrCapture() : path_(dir_.file("stderr.txt")) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string finish() {
    restore();
    return quire::test::read_text_file(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  TempDir dir_;
  std::string path_;
  int saved_ = -1;
};

// Lower-cased words of letters and digits, after the same normalization as ours.
std::vector<std::string> words_of(const std::string& text) {
  const std::string normalized = normalize_page_text(text);
  std::vector<std::string> words;
  std::string word;
  for (char c : normalized) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

// Share of the reference's words (as a multiset) found in ours.
double word_overlap(const std::vector<std::string>& reference,
                    const std::vector<std::string>& ours) {
  std::map<std::string, int64_t> available;
  for (const std::string& w : ours) ++available[w];
  int64_t found = 0;
  for (const std::string& w : reference) {
    if (available[w] > 0) {
      --available[w];
      ++found;
    }
  }
  return reference.empty() ? 1.0
                           : static_cast<double>(found) / static_cast<double>(reference.size());
}

// Share of the reference's adjacent word pairs found in ours: sensitive to reading order.
double bigram_overlap(const std::vector<std::string>& reference,
                      const std::vector<std::string>& ours) {
  std::multiset<std::string> available;
  for (size_t i = 1; i < ours.size(); ++i) available.insert(ours[i - 1] + " " + ours[i]);
  int64_t found = 0;
  for (size_t i = 1; i < reference.size(); ++i) {
    const auto it = available.find(reference[i - 1] + " " + reference[i]);
    if (it != available.end()) {
      available.erase(it);
      ++found;
    }
  }
  return reference.size() < 2
             ? 1.0
             : static_cast<double>(found) / static_cast<double>(reference.size() - 1);
}

TEST(SourceKind, ByExtensionCaseInsensitive) {
  EXPECT_EQ(source_kind("a/b/paper.pdf"), SourceKind::kPdf);
  EXPECT_EQ(source_kind("PAPER.PDF"), SourceKind::kPdf);
  EXPECT_EQ(source_kind("notes.txt"), SourceKind::kText);
  EXPECT_EQ(source_kind("README.md"), SourceKind::kMarkdown);
  EXPECT_EQ(source_kind("x.Markdown"), SourceKind::kMarkdown);
  EXPECT_EQ(source_kind("index.html"), SourceKind::kHtml);
  EXPECT_EQ(source_kind("index.HTM"), SourceKind::kHtml);
  EXPECT_EQ(source_kind("report.docx"), SourceKind::kUnsupported);
  EXPECT_EQ(source_kind("pdf"), SourceKind::kUnsupported);
  EXPECT_EQ(source_kind("dir.pdf/file"), SourceKind::kUnsupported);
}

TEST(ExtractDocument, MissingUnsupportedAndOversizedFiles) {
  TempDir dir;
  Result<ExtractedDocument> missing = extract_document(dir.file("nope.pdf"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.pdf"), std::string::npos);

  write_text(dir.file("report.docx"), "x");
  Result<ExtractedDocument> docx = extract_document(dir.file("report.docx"));
  ASSERT_FALSE(docx.ok());
  EXPECT_EQ(docx.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(docx.status().message().find(".docx"), std::string::npos);

  std::filesystem::create_directory(dir.file("folder.pdf"));
  Result<ExtractedDocument> folder = extract_document(dir.file("folder.pdf"));
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.status().code(), StatusCode::kFailedPrecondition) << folder.status().to_string();

  // A sparse file just over the limit: refused before it is read.
  for (const char* name : {"big.pdf", "big.txt"}) {
    const std::string path = dir.file(name);
    write_text(path, "");
    std::filesystem::resize_file(path, static_cast<uintmax_t>(kMaxSourceBytes) + 1);
    Result<ExtractedDocument> big = extract_document(path);
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
    EXPECT_NE(big.status().message().find("file too large"), std::string::npos)
        << big.status().message();
    EXPECT_NE(big.status().message().find("200 MB"), std::string::npos) << big.status().message();
  }
}

TEST(ExtractDocument, BadPdfFilesFailCleanly) {
  QUIRE_REQUIRE_SHARED();
  const std::string bad = quire::test::shared_dir() + "/data/bad/";
  TempDir dir;
  write_text(dir.file("empty.pdf"), "");
  write_text(dir.file("header-only.pdf"), "%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage\n");
  struct Case {
    std::string path;
    std::string message;
  };
  const std::vector<Case> cases = {
      {bad + "bad-random.pdf", "not a PDF"},
      {bad + "bad-text-named.pdf", "not a PDF"},
      {bad + "bad-truncated.pdf", "truncated or damaged PDF"},
      {dir.file("empty.pdf"), "not a PDF (empty file)"},
      {dir.file("header-only.pdf"), "truncated or damaged PDF"},
  };
  StderrCapture capture;
  std::vector<Status> statuses;
  for (const Case& c : cases) statuses.push_back(extract_document(c.path).status());
  const std::string printed = capture.finish();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].path);
    EXPECT_EQ(statuses[i].code(), StatusCode::kDataLoss) << statuses[i].to_string();
    EXPECT_NE(statuses[i].message().find(cases[i].message), std::string::npos)
        << statuses[i].message();
    EXPECT_NE(statuses[i].message().find(cases[i].path), std::string::npos);
  }
  // The text file is quoted as what was found instead of a header.
  EXPECT_NE(statuses[1].message().find("got \"not a pdf at all"), std::string::npos)
      << statuses[1].message();
  // poppler's complaints are quoted in the message, never printed.
  EXPECT_NE(statuses[2].message().find("poppler:"), std::string::npos);
  EXPECT_EQ(printed, "");
}

TEST(ExtractDocument, TruncatedRealPapersAreDataLoss) {
  QUIRE_REQUIRE_SHARED();
  TempDir dir;
  StderrCapture capture;
  for (const char* name :
       {"1706.03762.pdf", "datastores__dynamo-amazons-highly-available-key-value-store.pdf"}) {
    const std::vector<uint8_t> bytes = quire::test::read_file(paper(name));
    for (const double fraction : {0.1, 0.5, 0.9}) {
      const std::string path = dir.file("cut.pdf");
      quire::test::write_file(
          path, std::vector<uint8_t>(
                    bytes.begin(), bytes.begin() + static_cast<int64_t>(bytes.size() * fraction)));
      Result<ExtractedDocument> doc = extract_document(path);
      SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(fraction));
      ASSERT_FALSE(doc.ok());
      EXPECT_EQ(doc.status().code(), StatusCode::kDataLoss);
      EXPECT_NE(doc.status().message().find("truncated or damaged PDF"), std::string::npos)
          << doc.status().message();
    }
  }
  EXPECT_EQ(capture.finish(), "");
}

TEST(ExtractDocument, ImageOnlyScanHasNoExtractableText) {
  QUIRE_REQUIRE_SHARED();
  Result<ExtractedDocument> doc = extract_document(paper(kImageOnlyScan));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(doc.status().message().find("no extractable text (scanned image?)"), std::string::npos)
      << doc.status().message();
  EXPECT_NE(doc.status().message().find("30 pages"), std::string::npos) << doc.status().message();
}

// Every paper: page count as in SOURCES.tsv, a title, and the whole pipeline (extract,
// normalize, chunk) with its invariants; prints the titles and the throughput.
TEST(ExtractDocument, AllPapersExtractNormalizeAndChunk) {
  QUIRE_REQUIRE_SHARED();
  const std::map<std::string, int64_t> expected = expected_page_counts();
  ASSERT_EQ(expected.size(), 78u);
  double extract_s = 0, normalize_s = 0, chunk_s = 0;
  int64_t pages_done = 0, chunks_done = 0, failed = 0;
  StderrCapture capture;  // poppler's warnings (distillation.pdf has some) must not leak
  std::vector<std::string> report;
  for (const auto& [file, n_pages] : expected) {
    SCOPED_TRACE(file);
    auto t0 = std::chrono::steady_clock::now();
    Result<ExtractedDocument> doc = extract_document(paper(file));
    auto t1 = std::chrono::steady_clock::now();
    extract_s += std::chrono::duration<double>(t1 - t0).count();
    if (file == kImageOnlyScan) {
      EXPECT_EQ(doc.status().code(), StatusCode::kFailedPrecondition);
      report.push_back(file + "\t" + std::to_string(n_pages) + "\t-\tno extractable text");
      continue;
    }
    if (!doc.ok()) {
      ADD_FAILURE() << doc.status().to_string();
      ++failed;
      continue;
    }
    EXPECT_EQ(static_cast<int64_t>(doc->pages.size()), n_pages);
    for (size_t i = 0; i < doc->pages.size(); ++i) EXPECT_EQ(doc->pages[i].number, int64_t(i) + 1);
    EXPECT_FALSE(doc->title.empty());
    EXPECT_EQ(doc->title.find('\n'), std::string::npos);

    normalize_pages(doc->pages);
    auto t2 = std::chrono::steady_clock::now();
    normalize_s += std::chrono::duration<double>(t2 - t1).count();
    const ChunkerOptions options;
    const std::vector<index::ChunkRecord> chunks = chunk_pages(doc->pages, options, nullptr);
    auto t3 = std::chrono::steady_clock::now();
    chunk_s += std::chrono::duration<double>(t3 - t2).count();

    const std::string text = document_text(doc->pages);
    EXPECT_GT(chunks.size(), 0u);
    for (const index::ChunkRecord& c : chunks) {
      ASSERT_EQ(c.text, text.substr(static_cast<size_t>(c.char_start),
                                    static_cast<size_t>(c.char_end - c.char_start)));
      if (c.text.find_first_of(" \n") != std::string::npos) {
        EXPECT_LE(c.n_tokens, options.target_tokens);
      }
      EXPECT_GE(c.page_start, 1);
      EXPECT_LE(c.page_start, c.page_end);
      EXPECT_LE(c.page_end, n_pages);
    }
    pages_done += n_pages;
    chunks_done += static_cast<int64_t>(chunks.size());
    report.push_back(file + "\t" + std::to_string(n_pages) + "\t" +
                     std::to_string(doc->pages.size()) + "\t" + doc->title);
  }
  const std::string printed = capture.finish();
  EXPECT_EQ(printed, "");
  EXPECT_EQ(failed, 0);
  std::printf("file\tpages(SOURCES.tsv)\tpages(extracted)\ttitle\n");
  for (const std::string& line : report) std::printf("%s\n", line.c_str());
  const double total = extract_s + normalize_s + chunk_s;
  std::printf(
      "%lld pages, %lld chunks: extract %.2f s, normalize %.2f s, chunk %.2f s; "
      "%.0f pages/s end to end (single thread)\n",
      static_cast<long long>(pages_done), static_cast<long long>(chunks_done), extract_s,
      normalize_s, chunk_s, static_cast<double>(pages_done) / total);
}

TEST(ExtractDocument, TitlesFromMetadataOrFirstPage) {
  QUIRE_REQUIRE_SHARED();
  const std::map<std::string, std::string> titles = {
      // Metadata empty: the largest type on page 1 (the arXiv stamp in the margin is skipped).
      {"1706.03762.pdf", "Attention Is All You Need"},
      // Metadata "System Model" is not printed on page 1: not the title.
      {"datastores__dynamo-amazons-highly-available-key-value-store.pdf",
       "Dynamo: Amazon\u2019s Highly Available Key-value Store"},
      // Real metadata.
      {"api_design__api-design.pdf", "The Little Manual of API Design"},
      {"sublinear_algorithms__An-Elementary-Proof-of-a-Theorem-of-Johnson-and-Lindenstrauss.pdf",
       "An elementary proof of a theorem of Johnson and Lindenstrauss"},
      // Metadata "Microsoft Word - ISMIR-2003-Shazam-rev2.doc" and "rados-pdsw.dvi".
      {"audio_comp_sci__shazam-audio-search-algorithm.pdf",
       "An Industrial-Strength Audio Search Algorithm"},
      {"datastores__rados-a-scalable-reliable-storage-service-for-petabyte-scale-storage-"
       "clusters.pdf",
       "RADOS: A Scalable, Reliable Storage Service for Petabyte-scale Storage Clusters"},
      // Metadata "[inria-00555588, v1] A comprehensive study ...": the archive tag is dropped.
      {"data_replication__a-comprehensive-study-of-convergent-and-communative-replicated-data-"
       "types.pdf",
       "A comprehensive study of Convergent and Commutative Replicated Data Types"},
      // Metadata "untitled"; a same-size "Abstract" heading follows the title.
      {"data_compression__data-compression.pdf", "Data Compression"},
  };
  for (const auto& [file, title] : titles) {
    Result<ExtractedDocument> doc = extract_document(paper(file));
    ASSERT_TRUE(doc.ok()) << doc.status().to_string();
    EXPECT_EQ(doc->title, title) << file;
  }
}

TEST(ExtractDocument, PageTextMatchesPdftotext) {
  QUIRE_REQUIRE_SHARED();
  if (!std::filesystem::exists(kPdftotext)) GTEST_SKIP() << kPdftotext << " not installed";
  struct Case {
    std::string file;
    int page;
  };
  const std::vector<Case> cases = {
      // Two columns.
      {"datastores__dynamo-amazons-highly-available-key-value-store.pdf", 2},
      {"datastores__dynamo-amazons-highly-available-key-value-store.pdf", 5},
      // One column with equations (arXiv).
      {"1706.03762.pdf", 3},
      // Scans with OCR text layers: a two-column 1990 paper (Acrobat Capture) and a
      // typewritten 1973 one.
      {"distributed_systems__sparse-partitions.pdf", 3},
      {"distributed_systems__a-universal-modular-actor-formalism-for-artificial-intelligence.pdf",
       3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " page " + std::to_string(c.page));
    Result<ExtractedDocument> doc = extract_document(paper(c.file));
    ASSERT_TRUE(doc.ok()) << doc.status().to_string();
    const std::vector<std::string> ours = words_of(doc->pages[c.page - 1].text);
    const std::string p = std::to_string(c.page);
    const test::CommandResult reading =
        test::run_command({kPdftotext, "-f", p, "-l", p, paper(c.file), "-"});
    const test::CommandResult layout =
        test::run_command({kPdftotext, "-f", p, "-l", p, "-layout", paper(c.file), "-"});
    ASSERT_EQ(reading.exit_code, 0) << reading.err;
    ASSERT_EQ(layout.exit_code, 0) << layout.err;
    const std::vector<std::string> reference = words_of(reading.out);
    const std::vector<std::string> physical = words_of(layout.out);
    ASSERT_GT(reference.size(), 200u);
    // Same words as both pdftotext modes; same order as its default (reading order) mode.
    EXPECT_GE(word_overlap(reference, ours), 0.95);
    EXPECT_GE(word_overlap(physical, ours), 0.95);
    EXPECT_GE(bigram_overlap(reference, ours), 0.95);
    std::printf(
        "%s p%d: words vs default %.3f, vs -layout %.3f; word pairs vs default %.3f, "
        "vs -layout %.3f\n",
        c.file.c_str(), c.page, word_overlap(reference, ours), word_overlap(physical, ours),
        bigram_overlap(reference, ours), bigram_overlap(physical, ours));
  }
}

TEST(ExtractDocument, RunningHeadersOfARealPaperRemoved) {
  QUIRE_REQUIRE_SHARED();
  // Every page of the ViT paper carries "Published as a conference paper at ICLR 2021".
  Result<ExtractedDocument> doc = extract_document(paper("vit.pdf"));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  const std::string header = "Published as a conference paper at ICLR 2021";
  int64_t before = 0;
  for (const Page& p : doc->pages) before += p.text.find(header) != std::string::npos;
  EXPECT_EQ(before, static_cast<int64_t>(doc->pages.size()));
  normalize_pages(doc->pages);
  for (const Page& p : doc->pages) {
    EXPECT_EQ(p.text.find(header), std::string::npos) << "page " << p.number;
  }
}

TEST(ExtractDocument, ConcurrentExtractionMatchesSequential) {
  QUIRE_REQUIRE_SHARED();
  const std::vector<std::string> files = {
      "1706.03762.pdf", "distillation.pdf", "resnet.pdf",
      "datastores__dynamo-amazons-highly-available-key-value-store.pdf"};
  std::vector<std::string> sequential;
  for (const std::string& f : files) {
    Result<ExtractedDocument> doc = extract_document(paper(f));
    ASSERT_TRUE(doc.ok());
    sequential.push_back(doc->title + "|" + document_text(doc->pages));
  }
  std::vector<std::string> concurrent(files.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < files.size(); i += 2) {
        Result<ExtractedDocument> doc = extract_document(paper(files[i]));
        if (doc.ok()) concurrent[i] = doc->title + "|" + document_text(doc->pages);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(concurrent, sequential);
}

TEST(ExtractDocument, PlainText) {
  TempDir dir;
  write_text(
      dir.file("notes.txt"),
      "\xEF\xBB\xBF  \n\nMeeting notes on retrieval\nline two of the \xEF\xAC\x81rst paragraph\n\n"
      "Second paragraph.\n");
  Result<ExtractedDocument> doc = extract_document(dir.file("notes.txt"));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->title, "Meeting notes on retrieval");
  ASSERT_EQ(doc->pages.size(), 1u);
  EXPECT_EQ(doc->pages[0].number, 1);
  EXPECT_EQ(doc->pages[0].text.rfind("  \n\nMeeting", 0), 0u);  // BOM dropped, text raw
  EXPECT_EQ(normalize_page_text(doc->pages[0].text),
            "Meeting notes on retrieval line two of the first paragraph\n\nSecond paragraph.");

  // UTF-16 LE with BOM: "Hé\n"
  quire::test::write_file(dir.file("utf16.txt"), {0xFF, 0xFE, 'H', 0, 0xE9, 0, '\n', 0});
  Result<ExtractedDocument> utf16 = extract_document(dir.file("utf16.txt"));
  ASSERT_TRUE(utf16.ok());
  EXPECT_EQ(utf16->pages[0].text, "H\u00E9\n");

  // Binary content under a .txt name.
  quire::test::write_file(dir.file("binary.txt"), {'a', 0, 1, 2, 0, 'b'});
  Result<ExtractedDocument> binary = extract_document(dir.file("binary.txt"));
  ASSERT_FALSE(binary.ok());
  EXPECT_EQ(binary.status().code(), StatusCode::kDataLoss);

  // Empty: one empty page, titled by the file name.
  write_text(dir.file("empty-notes.txt"), "");
  Result<ExtractedDocument> empty = extract_document(dir.file("empty-notes.txt"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->title, "empty-notes");
  ASSERT_EQ(empty->pages.size(), 1u);
  EXPECT_EQ(empty->pages[0].text, "");
}

TEST(ExtractDocument, PathologicalMarkupStaysFast) {
  // One 2 MB line of unmatched markers: bounded lookahead keeps stripping linear.
  TempDir dir;
  std::string line = "`` ";
  for (int i = 0; i < 200000; ++i) line += "*a [b _c ";
  write_text(dir.file("stars.md"), line);
  write_text(dir.file("tags.html"), std::string(1 << 20, '<') + "<p>end</p>");
  const auto start = std::chrono::steady_clock::now();
  Result<ExtractedDocument> md = extract_document(dir.file("stars.md"));
  Result<ExtractedDocument> html = extract_document(dir.file("tags.html"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(md.ok());
  ASSERT_TRUE(html.ok());
  // Nothing matched, nothing dropped: the line without its trailing space, plus "\n".
  EXPECT_EQ(md->pages[0].text.size(), line.size());
  EXPECT_TRUE(html->pages[0].text.ends_with("end\n\n"));
  EXPECT_LT(seconds, 5.0);
}

TEST(ExtractDocument, MarkdownStrippedLightly) {
  TempDir dir;
  write_text(dir.file("doc.md"),
             "---\ntitle: \"Front Matter Title\"\ntags: [a, b]\n---\n"
             "# Heading *One*\n"
             "Some **bold** and _italic_ text with a [link](https://example.com/x_(y)) and "
             "![an image](img.png).\n"
             "snake_case_name and 2 * 3 * 4 stay; `inline *code*` loses its ticks.\n\n"
             "## Second ##\n\n"
             "- item one\n- item [two][ref]\n\n"
             "> quoted ~~old~~ line\n\n"
             "```python\ndef f(x):\n    return x * 2  # *not emphasis*\n```\n\n"
             "[ref]: https://example.com/ref\n"
             "Setext heading\n==============\n"
             "Escaped \\*star\\* and <https://auto.link/>.\n");
  Result<ExtractedDocument> doc = extract_document(dir.file("doc.md"));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->title, "Front Matter Title");
  ASSERT_EQ(doc->pages.size(), 1u);
  EXPECT_EQ(normalize_page_text(doc->pages[0].text),
            "Heading One\n\n"
            "Some bold and italic text with a link and an image. snake_case_name and 2 * 3 * 4 "
            "stay; inline *code* loses its ticks.\n\n"
            "Second\n\n"
            "item one\n\n"
            "item two\n\n"
            "quoted old line\n\n"
            "def f(x): return x * 2 # *not emphasis*\n\n"
            "Setext heading\n\n"
            "Escaped *star* and https://auto.link/.");

  write_text(dir.file("plain.md"), "Intro line\n\n# The Real Title\n\nBody.\n");
  Result<ExtractedDocument> plain = extract_document(dir.file("plain.md"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->title, "The Real Title");
}

TEST(ExtractDocument, HtmlTagsScriptsAndEntities) {
  TempDir dir;
  write_text(dir.file("page.html"),
             "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
             "<title>Caf&eacute; &amp; Retrieval &#8212; Notes</title>"
             "<style>body { color: red; }</style><script>var x = '<p>no</p>';</script></head>\n"
             "<body><!-- a comment <p>hidden</p> -->"
             "<h1>Main   Heading</h1><p>First&nbsp;paragraph with <b>bold</b> and "
             "<a href=\"/x?a=1&amp;b=2\" title=\"a > b\">a link</a>.</p>"
             "<div>Second block: 1 &lt; 2 &gt; 0, &quot;quoted&quot;, it&#39;s, &#x41;&#66;C, "
             "&unknown; &#0; x</div>\n"
             "<script type=\"text/javascript\">document.write('gone');</script>"
             "<ul><li>one</li><li>two<br>lines</li></ul>"
             "<pre>code   kept</pre><noscript>no js</noscript>"
             "<table><tr><td>a</td><td>b</td></tr></table> 3 < 4 </body></html>");
  Result<ExtractedDocument> doc = extract_document(dir.file("page.html"));
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->title, "Caf\u00E9 & Retrieval \u2014 Notes");
  EXPECT_EQ(normalize_page_text(doc->pages[0].text),
            "Main Heading\n\n"
            "First paragraph with bold and a link.\n\n"
            "Second block: 1 < 2 > 0, \"quoted\", it's, ABC, &unknown; \uFFFD x\n\n"
            "one\n\n"
            "two lines\n\n"
            "code kept\n\n"
            "a b\n\n"
            "3 < 4");

  // No <title>: the first <h1>.
  write_text(dir.file("no-title.htm"), "<body><p>intro</p><h1>The <i>H1</i> Title</h1></body>");
  Result<ExtractedDocument> no_title = extract_document(dir.file("no-title.htm"));
  ASSERT_TRUE(no_title.ok());
  EXPECT_EQ(no_title->title, "The H1 Title");
}

}  // namespace
}  // namespace quire::ingest
