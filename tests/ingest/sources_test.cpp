// The sources through extract_document(path, bytes): bytes in memory, no file needed, the same
// result as extracting the file; and each source's own entry point.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/core/mmap_file.h"
#include "ingest/extract.h"
#include "ingest/sources/html.h"
#include "ingest/sources/markdown.h"
#include "ingest/sources/pdf.h"
#include "ingest/sources/text.h"
#include "tests/support/test_support.h"

// Sanitizer builds: poppler initializes fontconfig once per process and never frees it.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libfontconfig.so\n";
}

namespace quire::ingest {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void expect_same(const ExtractedDocument& a, const ExtractedDocument& b) {
  EXPECT_EQ(a.title, b.title);
  ASSERT_EQ(a.pages.size(), b.pages.size());
  for (size_t i = 0; i < a.pages.size(); ++i) {
    EXPECT_EQ(a.pages[i].number, b.pages[i].number);
    EXPECT_EQ(a.pages[i].text, b.pages[i].text) << "page " << a.pages[i].number;
  }
}

TEST(Sources, PdfFromMappedBytesMatchesTheFile) {
  QUIRE_REQUIRE_SHARED();
  const std::string path = quire::test::shared_dir() + "/data/papers/1706.03762.pdf";
  auto mapped = MappedFile::open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status().to_string();
  auto from_bytes = extract_document(path, mapped->bytes());
  auto from_file = extract_document(path);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().to_string();
  ASSERT_TRUE(from_file.ok()) << from_file.status().to_string();
  expect_same(*from_bytes, *from_file);
  EXPECT_EQ(from_bytes->title, "Attention Is All You Need");

  // A copy in memory under a name that exists nowhere: the bytes are all it reads.
  const std::vector<uint8_t> copy(mapped->bytes().begin(), mapped->bytes().end());
  auto from_copy = extract_document("/nowhere/attention.pdf", copy);
  ASSERT_TRUE(from_copy.ok()) << from_copy.status().to_string();
  EXPECT_EQ(from_copy->pages.size(), from_file->pages.size());
  EXPECT_EQ(from_copy->title, from_file->title);
}

TEST(Sources, KindComesFromThePathAndErrorsFromTheBytes) {
  const std::string text = "Plain notes about retrieval\n\nbody";
  auto as_text = extract_document("/nowhere/notes.txt", as_bytes(text));
  ASSERT_TRUE(as_text.ok()) << as_text.status().to_string();
  EXPECT_EQ(as_text->title, "Plain notes about retrieval");

  auto as_pdf = extract_document("/nowhere/notes.pdf", as_bytes(text));
  ASSERT_FALSE(as_pdf.ok());
  EXPECT_EQ(as_pdf.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(as_pdf.status().message().find("not a PDF"), std::string::npos);
  EXPECT_NE(as_pdf.status().message().find("'/nowhere/notes.pdf'"), std::string::npos);

  auto docx = extract_document("/nowhere/notes.docx", as_bytes(text));
  EXPECT_EQ(docx.status().code(), StatusCode::kUnimplemented);

  auto empty_pdf = extract_document("/nowhere/e.pdf", std::span<const uint8_t>());
  EXPECT_EQ(empty_pdf.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(empty_pdf.status().message().find("empty file"), std::string::npos);
}

TEST(Sources, TextDecodingAndBinaryCheck) {
  EXPECT_EQ(decode_text_bytes("\xEF\xBB\xBFhi"), "hi");
  EXPECT_EQ(decode_text_bytes(std::string("\xFE\xFF\x00H\x00\xE9", 6)), "H\u00E9");  // UTF-16 BE
  EXPECT_EQ(decode_text_bytes(std::string("\xFF\xFE\x00\xD8!\x00", 6)), "\uFFFD!");  // lone high
  EXPECT_EQ(decode_text_bytes(std::string("\xFF\xFE\x3D\xD8\x00\xDE", 6)), "\U0001F600");  // pair
  EXPECT_TRUE(check_not_binary("a.txt", "text").ok());
  const Status binary = check_not_binary("a.txt", std::string("ab\0c", 4));
  EXPECT_EQ(binary.code(), StatusCode::kDataLoss);
  EXPECT_NE(binary.message().find("offset 2"), std::string::npos);
  auto doc = extract_text("/x/notes.txt", "line one\nline two");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->pages.size(), 1u);
  EXPECT_EQ(doc->pages[0].text, "line one\nline two");
}

TEST(Sources, MarkdownAndHtmlEntryPoints) {
  std::string title;
  EXPECT_EQ(strip_markdown("# Top *Heading*\n\nSome `code`.\n", &title),
            "\nTop Heading\n\n\nSome code.\n\n");
  EXPECT_EQ(title, "Top Heading");
  auto md = extract_markdown("/x/n.md", "no heading here at all\n");
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->title, "no heading here at all");

  const HtmlText html =
      html_to_text("<head><title>T &amp; U</title></head><h1>Head</h1><p>a<br>b</p>");
  EXPECT_EQ(html.title, "T & U");
  EXPECT_EQ(html.first_h1, "Head");
  EXPECT_EQ(html.text, "\n\nHead\n\n\n\na\nb\n\n");
  auto page = extract_html("/x/p.html", "<h1>Only H1</h1><p>text</p>");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->title, "Only H1");
  EXPECT_EQ(extract_html("/x/p.html", std::string("<p>\0</p>", 8)).status().code(),
            StatusCode::kDataLoss);
}

TEST(Sources, PdfEntryPointRefusesNonPdfBytes) {
  auto doc = extract_pdf("/x/a.pdf", "hello world, not a pdf");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(doc.status().message().find("got \"hello world, not\""), std::string::npos)
      << doc.status().message();
}

}  // namespace
}  // namespace quire::ingest
