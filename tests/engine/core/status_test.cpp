#include "engine/core/status.h"

#include <cerrno>
#include <memory>
#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace quire {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = not_found_error("tensor 'output.weight' is missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "tensor 'output.weight' is missing");
  EXPECT_EQ(s.to_string(), "NOT_FOUND: tensor 'output.weight' is missing");
}

TEST(StatusTest, ContextIsPrependedAndCodeKept) {
  Status inner = data_loss_error("offset 24: truncated");
  Status outer = inner.with_context("loading 'm.gguf'");
  EXPECT_EQ(outer.code(), StatusCode::kDataLoss);
  EXPECT_EQ(outer.message(), "loading 'm.gguf': offset 24: truncated");
  // The rvalue overload edits in place and gives the same result.
  Status moved = data_loss_error("offset 24: truncated").with_context("loading 'm.gguf'");
  EXPECT_EQ(moved, outer);
  // Context on OK is still OK, without a message.
  EXPECT_TRUE(ok_status().with_context("anything").ok());
  EXPECT_TRUE(ok_status().with_context("anything").message().empty());
}

TEST(StatusTest, EveryCodeHasDistinctNameExitCodeAndHttpStatus) {
  const StatusCode codes[] = {
      StatusCode::kInvalidArgument,   StatusCode::kNotFound,    StatusCode::kFailedPrecondition,
      StatusCode::kResourceExhausted, StatusCode::kUnavailable, StatusCode::kDeadlineExceeded,
      StatusCode::kUnimplemented,     StatusCode::kInternal,    StatusCode::kDataLoss};
  std::set<int> exits, https;
  std::set<std::string_view> names;
  for (StatusCode c : codes) {
    EXPECT_NE(exit_code(c), 0) << status_code_name(c);
    EXPECT_GE(http_status(c), 400) << status_code_name(c);
    exits.insert(exit_code(c));
    https.insert(http_status(c));
    names.insert(status_code_name(c));
  }
  EXPECT_EQ(exits.size(), std::size(codes));
  EXPECT_EQ(https.size(), std::size(codes));
  EXPECT_EQ(names.size(), std::size(codes));
  EXPECT_EQ(exit_code(StatusCode::kOk), 0);
  EXPECT_EQ(exit_code(StatusCode::kInvalidArgument), 2);
  EXPECT_EQ(http_status(StatusCode::kOk), 200);
  EXPECT_EQ(http_status(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status(StatusCode::kNotFound), 404);
  EXPECT_EQ(http_status(StatusCode::kResourceExhausted), 429);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(errno_error(ENOENT, "open 'x'").code(), StatusCode::kNotFound);
  EXPECT_EQ(errno_error(EACCES, "open 'x'").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(errno_error(ENOMEM, "mmap").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(errno_error(EIO, "read").code(), StatusCode::kInternal);
  EXPECT_NE(errno_error(ENOENT, "open 'x'").message().find("open 'x': "), std::string::npos);
}

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument_error("expected > 0, got " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  QUIRE_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

Status check_both(int a, int b) {
  QUIRE_RETURN_IF_ERROR(parse_positive(a).status());
  QUIRE_RETURN_IF_ERROR(parse_positive(b).status().with_context("second"));
  return ok_status();
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  EXPECT_EQ(good.value(), 3);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "expected > 0, got -1");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(ResultTest, MacrosPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_EQ(doubled(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(check_both(1, 2).ok());
  Status s = check_both(1, -2);
  EXPECT_EQ(s.message(), "second: expected > 0, got -2");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultDeathTest, OkStatusWithoutValueAborts) {
  EXPECT_DEATH(
      {
        Result<int> r(ok_status());
        (void)r;
      },
      "");
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  EXPECT_DEATH(
      {
        Result<int> r(internal_error("x"));
        (void)r.value();
      },
      "");
}

}  // namespace
}  // namespace quire
