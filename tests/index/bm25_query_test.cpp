#include "index/bm25_query.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/migrations.h"
#include "index/sqlite_db.h"
#include "tests/support/test_support.h"

namespace quire::index {
namespace {

using Terms = std::vector<std::string>;

TEST(Bm25QueryTest, SplitsOnPunctuationAndLowercases) {
  EXPECT_EQ(bm25_query_terms("What limits Decode-speed?"),
            (Terms{"what", "limits", "decode", "speed"}));
  EXPECT_EQ(bm25_query_terms("KV_cache, q8_0; f16."), (Terms{"kv", "cache", "q8", "0", "f16"}));
  EXPECT_EQ(bm25_match_expression("Hello, World"), "\"hello\" OR \"world\"");
}

TEST(Bm25QueryTest, DeduplicatesInOrderOfFirstAppearance) {
  EXPECT_EQ(bm25_query_terms("b a B c a"), (Terms{"b", "a", "c"}));
}

TEST(Bm25QueryTest, QuotesNeverReachTheExpression) {
  EXPECT_EQ(bm25_match_expression("\"exact phrase\""), "\"exact\" OR \"phrase\"");
  EXPECT_EQ(bm25_match_expression("x\"b"), "\"x\" OR \"b\"");
  EXPECT_EQ(bm25_match_expression("\""), "");
  EXPECT_EQ(bm25_match_expression("\"\""), "");
  EXPECT_EQ(bm25_match_expression("it's"), "\"s\"");  // "it" is a function word
}

TEST(Bm25QueryTest, OperatorsAreOrdinaryWords) {
  // FTS5 would read AND/OR/NOT/NEAR as operators; quoted they are plain terms.
  EXPECT_EQ(bm25_match_expression("AND OR NOT"), "\"and\" OR \"or\" OR \"not\"");
  EXPECT_EQ(bm25_match_expression("NEAR(x b, 2)"), "\"near\" OR \"x\" OR \"b\" OR \"2\"");
  EXPECT_EQ(bm25_match_expression("text:river^ -x +y z*"),
            "\"text\" OR \"river\" OR \"x\" OR \"y\" OR \"z\"");
}

TEST(Bm25QueryTest, PunctuationOnlyGivesNoTerms) {
  for (const std::string query : {"", " ", "*", "( ) :", "--", "%", "'", "\\", "{}", "\t\n"}) {
    EXPECT_TRUE(bm25_query_terms(query).empty()) << "'" << query << "'";
    EXPECT_EQ(bm25_match_expression(query), "") << "'" << query << "'";
  }
  EXPECT_TRUE(bm25_query_terms(std::string("\0\0", 2)).empty());
}

TEST(Bm25QueryTest, NonAsciiBytesStayTogetherUnchanged) {
  // Runs of UTF-8 bytes are one term (unicode61 splits them further inside the quotes); ASCII
  // case folding leaves them alone.
  EXPECT_EQ(bm25_query_terms("日本語のテキスト"), (Terms{"日本語のテキスト"}));
  EXPECT_EQ(bm25_query_terms("Café TRÈS"), (Terms{"café", "trÈs"}));
  EXPECT_EQ(bm25_query_terms("🙂 ok"), (Terms{"🙂", "ok"}));
  // Invalid UTF-8 passes through as bytes; a NUL separates.
  EXPECT_EQ(bm25_query_terms("\xff\xfe\x80"), (Terms{"\xff\xfe\x80"}));
  EXPECT_EQ(bm25_query_terms(std::string("ri\0ver", 6)), (Terms{"ri", "ver"}));
}

TEST(Bm25QueryTest, VeryLongQueriesAreCapped) {
  std::string query;
  for (int i = 0; i < 2000; ++i) query += "word" + std::to_string(i) + " OR ";
  const Terms terms = bm25_query_terms(query);
  ASSERT_EQ(terms.size(), kMaxBm25QueryTerms);
  EXPECT_EQ(terms[0], "word0");
  EXPECT_EQ(terms[1], "or");
  EXPECT_EQ(terms.back(), "word62");
  // A single enormous word is one term, kept whole.
  const std::string huge(100000, 'x');
  EXPECT_EQ(bm25_query_terms(huge), (Terms{huge}));
}

TEST(Bm25QueryTest, FtsMatchAnyJoinsTermsAsStrings) {
  EXPECT_EQ(fts5_match_any({}), "");
  EXPECT_EQ(fts5_match_any({"one"}), "\"one\"");
  EXPECT_EQ(fts5_match_any({"one", "two", "three"}), "\"one\" OR \"two\" OR \"three\"");
}

// Every expression the builder makes is valid FTS5: run them against the real schema.
TEST(Bm25QueryTest, RealFts5AcceptsEveryExpression) {
  test::TempDir tmp;
  auto db = SqliteDb::open(tmp.file("quire.db"));
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  ASSERT_TRUE(migrate(**db).ok());
  ASSERT_TRUE((*db)
                  ->exec("INSERT INTO documents(path, status) VALUES ('/h', 'indexed');"
                         "INSERT INTO chunks(doc_id, ord, page_start, page_end, char_start, "
                         "char_end, n_tokens, text) VALUES (1, 0, 1, 1, 0, 26, 5, "
                         "'near the river and not far')")
                  .ok());
  std::string long_query;
  for (int i = 0; i < 500; ++i) long_query += "NEAR(\"w" + std::to_string(i) + "\" AND) ";
  const std::vector<std::string> queries = {"AND OR NOT", "NEAR(river", "\"a\"b",
                                            "x:y",        "^river",     "river*",
                                            "日本語",     "🙂",       long_query};
  for (const std::string& query : queries) {
    const std::string expression = bm25_match_expression(query);
    ASSERT_FALSE(expression.empty()) << query;
    auto select =
        (*db)->prepare_uncached("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1");
    ASSERT_TRUE(select.ok());
    ASSERT_TRUE(select->bind_all(expression).ok());
    auto row = select->step();
    ASSERT_TRUE(row.ok()) << query.substr(0, 40) << ": " << row.status().to_string();
  }
  // And it matches what it should: the operators as words.
  auto select =
      (*db)->prepare_uncached("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(select->bind_all(bm25_match_expression("AND")).ok());
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->column_int64(0), 1);
}

TEST(Bm25QueryTest, FunctionWordsLeaveTheSearchUnlessNothingElseRemains) {
  EXPECT_EQ(bm25_search_terms("What is the learning rate of the model?"),
            (std::vector<std::string>{"learning", "rate", "model"}));
  EXPECT_EQ(bm25_match_expression("How does the warmup work"), "\"warmup\" OR \"work\"");
  // A query of function words only is searched as written.
  EXPECT_EQ(bm25_search_terms("to be or not to be"),
            (std::vector<std::string>{"to", "be", "or", "not"}));
  // Phrases and term statistics keep every term.
  EXPECT_EQ(bm25_query_terms("the model").size(), 2u);
}

}  // namespace
}  // namespace quire::index
