#include "api/cli_args.h"

#include <gtest/gtest.h>

namespace quire::api {
namespace {

struct Fixture {
  std::string file, ctx, kv = "f16";
  bool json = false;
  ArgParser parser{"quire models inspect", "Describes a model."};
  Fixture() {
    parser.add_positional("FILE", &file, "model");
    parser.add_flag("json", &json, "json output");
    parser.add_option("ctx", &ctx, "N", "context");
    parser.add_option("kv-type", &kv, "TYPE", "kv type");
  }
  Status parse(std::vector<std::string> args) { return parser.parse(args); }
};

TEST(ArgParserTest, ParsesFlagsOptionsAndPositionals) {
  Fixture f;
  ASSERT_TRUE(f.parse({"m.gguf", "--json", "--ctx", "4096", "--kv-type=q8_0"}).ok());
  EXPECT_EQ(f.file, "m.gguf");
  EXPECT_TRUE(f.json);
  EXPECT_EQ(f.ctx, "4096");
  EXPECT_EQ(f.kv, "q8_0");
  EXPECT_FALSE(f.parser.help_requested());
}

TEST(ArgParserTest, OptionsBeforePositional) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--ctx=8", "m.gguf"}).ok());
  EXPECT_EQ(f.file, "m.gguf");
  EXPECT_EQ(f.ctx, "8");
  EXPECT_EQ(f.kv, "f16");  // default kept
}

TEST(ArgParserTest, Errors) {
  {
    Fixture f;
    Status s = f.parse({"m.gguf", "--bogus"});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("unknown option '--bogus'"), std::string::npos);
  }
  {
    Fixture f;
    Status s = f.parse({"m.gguf", "--ctx"});
    EXPECT_NE(s.message().find("'--ctx' needs a value"), std::string::npos);
  }
  {
    Fixture f;
    Status s = f.parse({});
    EXPECT_NE(s.message().find("missing argument FILE"), std::string::npos);
  }
  {
    Fixture f;
    Status s = f.parse({"a", "b"});
    EXPECT_NE(s.message().find("unexpected argument 'b'"), std::string::npos);
  }
  {
    Fixture f;
    Status s = f.parse({"a", "--json=yes"});
    EXPECT_NE(s.message().find("takes no value"), std::string::npos);
  }
}

TEST(ArgParserTest, HelpStopsParsingAndListsEverything) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--help", "--bogus"}).ok());
  EXPECT_TRUE(f.parser.help_requested());
  std::string help = f.parser.help();
  for (const char* s : {"usage: quire models inspect FILE", "--json", "--ctx N", "--kv-type TYPE",
                        "Describes a model."}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
}

TEST(ParseUintTest, AcceptsOnlyNonNegativeIntegers) {
  EXPECT_EQ(*parse_uint("0", "--n"), 0u);
  EXPECT_EQ(*parse_uint("4096", "--n"), 4096u);
  EXPECT_EQ(*parse_uint("18446744073709551615", "--n"), UINT64_MAX);
  for (const char* bad : {"", "-1", "12x", "1e3", " 5", "18446744073709551616", "+3"}) {
    auto r = parse_uint(bad, "--n");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("--n"), std::string::npos);
    }
  }
}

TEST(ParseTest, SignedIntegersAndNumbers) {
  EXPECT_EQ(*parse_int("-1", "-n"), -1);
  EXPECT_EQ(*parse_int("256", "-n"), 256);
  for (const char* bad : {"", "1.5", "12x", "99999999999999999999"}) {
    EXPECT_FALSE(parse_int(bad, "-n").ok()) << bad;
  }
  EXPECT_DOUBLE_EQ(*parse_double("0.8", "--temp"), 0.8);
  EXPECT_DOUBLE_EQ(*parse_double("-1e-3", "--temp"), -1e-3);
  for (const char* bad : {"", "abc", "0.5x", "nan", "inf", "1e999"}) {
    EXPECT_FALSE(parse_double(bad, "--temp").ok()) << bad;
  }
  EXPECT_NE(parse_double("abc", "--temp").status().message().find("--temp"), std::string::npos);
}

TEST(ArgParserTest, ListOptionsCollectEveryValue) {
  std::vector<std::string> docs, globs;
  std::string mode = "hybrid";
  ArgParser parser("quire ask", "Answers.");
  parser.add_list_option("filter-doc", &docs, "ID", "a document");
  parser.add_list_option("filter-path", &globs, "GLOB", "a path glob");
  parser.add_option("mode", &mode, "MODE", "mode");
  const std::vector<std::string> args = {"--filter-doc",  "3",       "--filter-path=/a/**",
                                         "--mode",        "bm25",    "--filter-doc=7",
                                         "--filter-path", "**/*.pdf"};
  ASSERT_TRUE(parser.parse(args).ok());
  EXPECT_EQ(docs, (std::vector<std::string>{"3", "7"}));
  EXPECT_EQ(globs, (std::vector<std::string>{"/a/**", "**/*.pdf"}));
  EXPECT_EQ(mode, "bm25");
  EXPECT_NE(parser.help().find("--filter-doc ID"), std::string::npos);
  EXPECT_NE(parser.help().find("(repeatable)"), std::string::npos);
  const std::vector<std::string> missing = {"--filter-doc"};
  auto status = parser.parse(missing);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("needs a value (ID)"), std::string::npos);
}

TEST(ParseMmrLambdaTest, AcceptsZeroToOneOnly) {
  EXPECT_FALSE(parse_mmr_lambda("").value().has_value());  // off
  EXPECT_DOUBLE_EQ(*parse_mmr_lambda("0").value(), 0.0);
  EXPECT_DOUBLE_EQ(*parse_mmr_lambda("0.7").value(), 0.7);
  EXPECT_DOUBLE_EQ(*parse_mmr_lambda("1").value(), 1.0);
  for (const char* bad : {"-0.1", "1.01", "2", "abc", "nan"}) {
    auto r = parse_mmr_lambda(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("--mmr: '", 0), 0u) << r.status().message();
  }
  EXPECT_NE(parse_mmr_lambda("1.5").status().message().find("outside [0, 1]"), std::string::npos);
}

TEST(ParseSearchFilterTest, DocumentIdsAndGlobs) {
  auto filter = parse_search_filter({"4", "12"}, {"/papers/**/*.pdf"});
  ASSERT_TRUE(filter.ok()) << filter.status().to_string();
  EXPECT_EQ(filter->document_ids, (std::vector<int64_t>{4, 12}));
  EXPECT_EQ(filter->path_globs, (std::vector<std::string>{"/papers/**/*.pdf"}));
  EXPECT_TRUE(parse_search_filter({}, {})->empty());
  for (const char* bad : {"0", "-3", "x", "1.5", ""}) {
    auto r = parse_search_filter({bad}, {});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--filter-doc: '"), std::string::npos);
  }
  auto bad_glob = parse_search_filter({}, {""});
  ASSERT_FALSE(bad_glob.ok());
  EXPECT_EQ(bad_glob.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_glob.status().message().find("--filter-path"), std::string::npos);
}

}  // namespace
}  // namespace quire::api
