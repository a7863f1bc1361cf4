#include "generate/rag_prompt.h"

#include <gtest/gtest.h>

namespace quire::generate {
namespace {

retrieve::PackedSource source(int n, const std::string& title, const std::string& path, int64_t p0,
                              int64_t p1, const std::string& text) {
  retrieve::PackedSource s;
  s.number = n;
  s.title = title;
  s.path = path;
  s.page_start = p0;
  s.page_end = p1;
  s.text = text;
  return s;
}

TEST(RagPrompt, DefaultTemplateNumbersTheSources) {
  const auto& t = RagPromptTemplate::default_template();
  const std::vector<retrieve::PackedSource> sources = {
      source(1, "Paxos Made Simple", "/papers/paxos-made-simple.pdf", 3, 3, "A proposer..."),
      source(2, "", "/papers/raft.pdf", 4, 5, "Leader election...")};
  EXPECT_EQ(t.render_source(sources[0]),
            "[1] Paxos Made Simple — paxos-made-simple.pdf, p. 3\nA proposer...");
  EXPECT_EQ(t.render_source(sources[1]),
            "[2] raft.pdf — raft.pdf, pp. 4\xE2\x80\x93"
            "5\nLeader election...");
  const auto messages = t.messages(sources, "Who proposes?");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].role, "system");
  EXPECT_NE(messages[0].content.find("only the numbered sources"), std::string::npos);
  EXPECT_NE(messages[0].content.find("[1]"), std::string::npos);
  EXPECT_NE(messages[0].content.find("do not contain"), std::string::npos);
  EXPECT_EQ(messages[1].role, "user");
  EXPECT_EQ(messages[1].content,
            "Sources:\n\n[1] Paxos Made Simple — paxos-made-simple.pdf, p. 3\nA proposer...\n\n"
            "[2] raft.pdf — raft.pdf, pp. 4\xE2\x80\x93"
            "5\nLeader election...\n\nQuestion: Who proposes?");
}

TEST(RagPrompt, ACustomTemplate) {
  auto t = RagPromptTemplate::parse(
      "my layout\n### system\nCite like {x: 1}.\n### source\n<{n}|{path}|{pages}>{text}\n"
      "### user\n{question}\n---\n{sources}\n");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto m = t->messages({source(1, "T", "/a/b.pdf", 2, 2, "body")}, "Q?");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].content, "Cite like {x: 1}.");
  EXPECT_EQ(m[1].content, "Q?\n---\n<1|/a/b.pdf|p. 2>body");
  // An empty system section sends no system message.
  auto bare = RagPromptTemplate::parse("### system\n### source\n{text}\n### user\n{sources}\n");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->messages({}, "q").size(), 1u);
}

TEST(RagPrompt, TemplateErrorsNameTheProblem) {
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"### system\n### source\n{text}\n", "no '### user' section"},
      {"### system\n### source\n### user\n### source\n", "line 4: section 'source' given twice"},
      {"### system\n### sauce\n", "line 2: unknown section 'sauce'"},
      {"### system\n### source\n{txt}\n### user\n", "section 'source': unknown placeholder {txt}"},
      {"### system\n{question}\n### source\n### user\n", "section 'system': unknown placeholder"},
  };
  for (const Case& c : cases) {
    auto t = RagPromptTemplate::parse(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.message), std::string::npos) << t.status().message();
  }
  EXPECT_EQ(RagPromptTemplate::load("/nonexistent/prompt.txt").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace quire::generate
