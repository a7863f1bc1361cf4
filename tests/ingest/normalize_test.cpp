#include "ingest/normalize.h"

#include <utf8proc.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::ingest {
namespace {

bool is_valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&s[i]),
                                                static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

// A word unique to page p (digits would be masked when lines are compared): "bbb", "ccc", ...
std::string tag(int p) {
  return std::string(3, static_cast<char>('a' + p));
}

std::vector<Page> make_pages(const std::vector<std::string>& texts) {
  std::vector<Page> pages;
  for (size_t i = 0; i < texts.size(); ++i)
    pages.push_back({static_cast<int64_t>(i + 1), texts[i]});
  return pages;
}

TEST(NormalizePageText, EmptyAndBlankGiveEmpty) {
  EXPECT_EQ(normalize_page_text(""), "");
  EXPECT_EQ(normalize_page_text(" \n\t\n\r\n  \f "), "");
}

TEST(NormalizePageText, LigaturesExpanded) {
  // ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ
  EXPECT_EQ(
      normalize_page_text("o\uFB00er \uFB01rst \uFB02ow e\uFB03cient wa\uFB04e \uFB05 \uFB06"),
      "offer first flow efficient waffle st st");
}

TEST(NormalizePageText, SoftHyphensAndZeroWidthDropped) {
  EXPECT_EQ(normalize_page_text("hy\u00ADphen\u200Bated \uFEFFword\u2060s"), "hyphenated words");
}

TEST(NormalizePageText, LineEndHyphenationRejoinedWhenPlausible) {
  EXPECT_EQ(normalize_page_text("dense embed-\nding models"), "dense embedding models");
  EXPECT_EQ(normalize_page_text("caf\u00E9-\n\u00E9l\u00E8ve"),
            "caf\u00E9\u00E9l\u00E8ve");  // Unicode Ll
  // Not a broken word: the hyphen stays, no space is added.
  EXPECT_EQ(normalize_page_text("Hewlett-\nPackard"), "Hewlett-Packard");
  EXPECT_EQ(normalize_page_text("pre-\n2010 data"), "pre-2010 data");
  EXPECT_EQ(normalize_page_text("the state-of-the-\nart model"), "the state-of-the-art model");
  EXPECT_EQ(normalize_page_text("GPU-\nbased"), "GPU-based");
  // A dash after a space is punctuation, not hyphenation.
  EXPECT_EQ(normalize_page_text("one -\ntwo"), "one - two");
  // U+2010 HYPHEN is a real hyphen (word processors write it for every compound): kept.
  EXPECT_EQ(normalize_page_text("object\u2010\noriented"), "object\u2010oriented");
  // A blank line between: a paragraph break, not hyphenation.
  EXPECT_EQ(normalize_page_text("embed-\n\nding"), "embed-\n\nding");
}

TEST(NormalizePageText, LinesJoinIntoParagraphs) {
  EXPECT_EQ(normalize_page_text("one\ntwo\nthree\n\nfour\nfive"), "one two three\n\nfour five");
  EXPECT_EQ(normalize_page_text("\n\n  a  \n\n\n\n\n b \n\n"), "a\n\nb");
  EXPECT_EQ(normalize_page_text("a\r\nb\r\n\r\nc\rd"), "a b\n\nc d");
  EXPECT_EQ(normalize_page_text("page one\fpage two"), "page one\n\npage two");
  EXPECT_EQ(normalize_page_text("x\u2029y\u2028z"), "x\n\ny z");
}

TEST(NormalizePageText, WhitespaceCollapsed) {
  EXPECT_EQ(normalize_page_text("  a   b\t\tc  "), "a b c");
  // NBSP, thin space, ideographic space are spaces.
  EXPECT_EQ(normalize_page_text("10\u00A0km\u2009x\u3000y"), "10 km x y");
}

TEST(NormalizePageText, ControlCharactersDropped) {
  EXPECT_EQ(normalize_page_text(std::string("a\x01"
                                            "b\x7f"
                                            "c\x1b"
                                            "d",
                                            7)),
            "abcd");
  EXPECT_EQ(normalize_page_text(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(normalize_page_text("x\u0085y"), "x y");  // NEL is a line break
}

TEST(NormalizePageText, DecomposedAccentsComposedToNfc) {
  // "Cafe" + COMBINING ACUTE -> "Café" (U+00E9); A + COMBINING RING -> U+00C5.
  EXPECT_EQ(normalize_page_text("Cafe\u0301 A\u030Angstr\u00F6m"), "Caf\u00E9 \u00C5ngstr\u00F6m");
  // Already composed text is unchanged; Hangul jamo compose to a syllable.
  EXPECT_EQ(normalize_page_text("na\u00EFve"), "na\u00EFve");
  EXPECT_EQ(normalize_page_text("\u1100\u1161"), "\uAC00");
  // NFC, not NFKC: compatibility characters such as superscripts stay.
  EXPECT_EQ(normalize_page_text("x\u00B2"), "x\u00B2");
}

TEST(NormalizePageText, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(normalize_page_text("a\xFF"
                                "b"),
            "a\uFFFD"
            "b");
  EXPECT_EQ(normalize_page_text("caf\xE9 au lait"), "caf\uFFFD au lait");  // Latin-1 byte
  const std::string truncated = normalize_page_text("end\xE2\x82");        // cut sequence
  EXPECT_TRUE(is_valid_utf8(truncated));
  EXPECT_EQ(truncated.rfind("end\uFFFD", 0), 0u);
  const std::string overlong = normalize_page_text("x\xC0\xAFy");  // overlong '/'
  EXPECT_TRUE(is_valid_utf8(overlong));
  EXPECT_EQ(overlong.find('/'), std::string::npos);
  EXPECT_NE(overlong.find("\uFFFD"), std::string::npos);
  const std::string surrogate = normalize_page_text("\xED\xA0\x80");  // encoded U+D800
  EXPECT_TRUE(is_valid_utf8(surrogate));
  // Every byte value, in every position: the output is always valid UTF-8.
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_TRUE(is_valid_utf8(normalize_page_text(all + all)));
}

TEST(NormalizePages, RemovesRunningHeadersAndFooters) {
  std::vector<std::string> texts;
  for (int p = 1; p <= 10; ++p) {
    // Header with a page number inside, footer line, bare page number.
    texts.push_back("Journal of Synthetic Results, Vol. 7 (2021), page " + std::to_string(100 + p) +
                    "\nBody text " + tag(p) + " starts here.\nIt goes on.\n\nSecond paragraph " +
                    tag(p) + ".\nConfidential draft - do not distribute\n" + std::to_string(p) +
                    "\n");
  }
  std::vector<Page> pages = make_pages(texts);
  normalize_pages(pages);
  for (int p = 1; p <= 10; ++p) {
    EXPECT_EQ(
        pages[p - 1].text,
        "Body text " + tag(p) + " starts here. It goes on.\n\nSecond paragraph " + tag(p) + ".")
        << "page " << p;
    EXPECT_EQ(pages[p - 1].number, p);
  }
}

TEST(NormalizePages, AlternatingHeadersOnHalfThePagesRemoved) {
  std::vector<std::string> texts;
  for (int p = 1; p <= 8; ++p) {
    const std::string header = p % 2 == 0 ? "A. Author and B. Author" : "On Synthetic Papers";
    texts.push_back(std::to_string(p) + "\n" + header + "\nContent " + tag(p) + ".");
  }
  std::vector<Page> pages = make_pages(texts);
  normalize_pages(pages);
  for (int p = 1; p <= 8; ++p) EXPECT_EQ(pages[p - 1].text, "Content " + tag(p) + ".");
}

TEST(NormalizePages, KeepsLinesRepeatedOnFewPagesOrInTheMiddle) {
  std::vector<std::string> texts;
  for (int p = 1; p <= 10; ++p) {
    const std::string t = tag(p);
    // "Related work" opens 2 of 10 pages (20% < 40%); "Repeated body line" repeats on every
    // page but in the middle, not among the first or last two lines.
    const std::string first = p <= 2 ? "Related work" : "Opening " + t;
    texts.push_back(first + "\nsecond " + t + "\nthird\nRepeated body line\nfifth\nsixth " + t +
                    "\nlast " + t);
  }
  std::vector<Page> pages = make_pages(texts);
  normalize_pages(pages);
  EXPECT_EQ(pages[0].text,
            "Related work second bbb third Repeated body line fifth sixth bbb last bbb");
  for (const Page& page : pages) {
    EXPECT_NE(page.text.find("Repeated body line"), std::string::npos) << page.text;
  }
}

TEST(NormalizePages, BarePageNumbersRemovedAtEdgesOnly) {
  std::vector<Page> pages = make_pages({
      "12\nFirst page text.\n\n2048\n\nStill text.\n- 13 -",
      "xiv\nRoman numbered page.\nPage 15",
      "Body.\n16 of 40",
  });
  normalize_pages(pages);
  EXPECT_EQ(pages[0].text, "First page text.\n\n2048\n\nStill text.");
  EXPECT_EQ(pages[1].text, "Roman numbered page.");
  EXPECT_EQ(pages[2].text, "Body.");
}

TEST(NormalizePages, TwoPagesKeepRepeatedLines) {
  // With fewer than 3 pages a repeated line is not evidence of a running header.
  std::vector<Page> pages = make_pages({"Title\nText one.", "Title\nText two."});
  normalize_pages(pages);
  EXPECT_EQ(pages[0].text, "Title Text one.");
  EXPECT_EQ(pages[1].text, "Title Text two.");
}

TEST(NormalizePages, NormalizesEveryPageAndKeepsEmptyOnes) {
  std::vector<Page> pages = make_pages({"e\uFB03cient embed-\nding", "", "Cafe\u0301"});
  normalize_pages(pages);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].text, "efficient embedding");
  EXPECT_EQ(pages[1].text, "");
  EXPECT_EQ(pages[2].text, "Caf\u00E9");
}

}  // namespace
}  // namespace quire::ingest
