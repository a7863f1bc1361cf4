#include "index/path_glob.h"

#include <string>

#include <gtest/gtest.h>

#include "index/search_filter.h"

namespace quire::index {
namespace {

TEST(PathGlobTest, LiteralsMatchWholePathsOnly) {
  EXPECT_TRUE(path_glob_match("/docs/a.pdf", "/docs/a.pdf"));
  EXPECT_FALSE(path_glob_match("/docs/a.pdf", "/docs/a.pdf.bak"));
  EXPECT_FALSE(path_glob_match("/docs/a.pdf", "/x/docs/a.pdf"));
  EXPECT_FALSE(path_glob_match("/docs/A.pdf", "/docs/a.pdf"));  // case-sensitive
  EXPECT_TRUE(path_glob_match("", ""));
  EXPECT_FALSE(path_glob_match("", "/a"));
}

TEST(PathGlobTest, StarStaysWithinOneSegment) {
  EXPECT_TRUE(path_glob_match("/docs/*.pdf", "/docs/a.pdf"));
  EXPECT_TRUE(path_glob_match("/docs/*.pdf", "/docs/.pdf"));
  EXPECT_FALSE(path_glob_match("/docs/*.pdf", "/docs/sub/a.pdf"));
  EXPECT_TRUE(path_glob_match("/docs/*/*.pdf", "/docs/sub/a.pdf"));
  EXPECT_TRUE(path_glob_match("*", "a.txt"));
  EXPECT_FALSE(path_glob_match("*", "/a.txt"));
  EXPECT_TRUE(path_glob_match("/*a*b*c*", "/xaybzc"));
  EXPECT_FALSE(path_glob_match("/*a*b*c*", "/xaybz/c"));
}

TEST(PathGlobTest, DoubleStarCrossesSegments) {
  EXPECT_TRUE(path_glob_match("/docs/**", "/docs/a/b/c.md"));
  EXPECT_TRUE(path_glob_match("**.md", "/any/where/x.md"));
  EXPECT_TRUE(path_glob_match("/docs/**/*.md", "/docs/x/y/a.md"));
  EXPECT_TRUE(path_glob_match("/docs/**/*.md", "/docs/x/a.md"));
  EXPECT_TRUE(path_glob_match("/docs/**/*.md", "/docs/a.md"));  // "**/" matches no directory
  EXPECT_FALSE(path_glob_match("/docs/**/*.md", "/other/a.md"));
  EXPECT_FALSE(path_glob_match("/docs/**/*.md", "/docs/a.txt"));
  EXPECT_TRUE(path_glob_match("/a/***/z", "/a/b/c/z"));
}

TEST(PathGlobTest, QuestionMarkIsOneCharacterNotSlash) {
  EXPECT_TRUE(path_glob_match("/doc?.txt", "/doc1.txt"));
  EXPECT_FALSE(path_glob_match("/doc?.txt", "/doc.txt"));
  EXPECT_FALSE(path_glob_match("/doc?.txt", "/doc12.txt"));
  EXPECT_FALSE(path_glob_match("/a?b", "/a/b"));
  // One UTF-8 character, not one byte.
  EXPECT_TRUE(path_glob_match("/caf?.md", "/café.md"));
  EXPECT_TRUE(path_glob_match("/?.md", "/日.md"));
  EXPECT_FALSE(path_glob_match("/??.md", "/日.md"));
}

TEST(PathGlobTest, BracketsEscapesAndLiteralBrackets) {
  EXPECT_TRUE(path_glob_match("/v[0-9].txt", "/v7.txt"));
  EXPECT_FALSE(path_glob_match("/v[0-9].txt", "/vx.txt"));
  EXPECT_TRUE(path_glob_match("/v[!0-9].txt", "/vx.txt"));
  EXPECT_TRUE(path_glob_match("/v[^0-9].txt", "/vx.txt"));
  EXPECT_FALSE(path_glob_match("/v[!0-9].txt", "/v7.txt"));
  EXPECT_TRUE(path_glob_match("/[]]", "/]"));
  EXPECT_FALSE(path_glob_match("/a[/]b", "/a/b"));  // a bracket never matches '/'
  EXPECT_TRUE(path_glob_match("/a[b", "/a[b"));     // unclosed: a literal '['
  EXPECT_TRUE(path_glob_match("/\\*", "/*"));
  EXPECT_FALSE(path_glob_match("/\\*", "/x"));
  EXPECT_TRUE(path_glob_match("/a\\?", "/a?"));
  EXPECT_TRUE(path_glob_match("/end\\", "/end\\"));  // a trailing backslash is literal
}

TEST(PathGlobTest, ManyStarsStayFast) {
  // Exponential for a naive backtracker; the memo keeps it O(pattern * path).
  std::string pattern = "/";
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  const std::string path = "/" + std::string(2000, 'a');
  EXPECT_FALSE(path_glob_match(pattern, path));
  EXPECT_TRUE(path_glob_match(pattern.substr(0, pattern.size() - 1), path));
}

TEST(PathGlobTest, ChecksPatterns) {
  EXPECT_TRUE(check_path_glob("/docs/**").ok());
  EXPECT_TRUE(check_path_glob("[").ok());
  Status empty = check_path_glob("");
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("empty pattern"), std::string::npos) << empty.message();
  Status long_pattern = check_path_glob(std::string(kMaxPathGlobBytes + 1, 'x'));
  EXPECT_EQ(long_pattern.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_pattern.message().find("1025 bytes, expected at most 1024"), std::string::npos)
      << long_pattern.message();
  EXPECT_FALSE(path_glob_match(std::string(kMaxPathGlobBytes + 1, '*'), "x"));
}

TEST(SearchFilterTest, ConstraintsCombine) {
  SearchFilter none;
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.admits(7, "/anything"));

  SearchFilter ids;
  ids.document_ids = {3, 5};
  EXPECT_FALSE(ids.empty());
  EXPECT_TRUE(ids.admits(5, "/x"));
  EXPECT_FALSE(ids.admits(4, "/x"));

  SearchFilter globs;
  globs.path_globs = {"/a/*", "/b/**"};
  EXPECT_TRUE(globs.admits(1, "/a/x"));
  EXPECT_TRUE(globs.admits(1, "/b/x/y"));  // any glob may match
  EXPECT_FALSE(globs.admits(1, "/a/x/y"));
  EXPECT_TRUE(globs.admits_path("/a/x"));

  SearchFilter both = globs;
  both.document_ids = {1};
  EXPECT_TRUE(both.admits(1, "/a/x"));
  EXPECT_FALSE(both.admits(2, "/a/x"));  // every constraint must pass
  EXPECT_FALSE(both.admits(1, "/c/x"));

  EXPECT_TRUE(check_search_filter(both).ok());
  both.path_globs.push_back("");
  Status bad = check_search_filter(both);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("path glob 2"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace quire::index
