#include "engine/core/mmap_file.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace quire {
namespace {

TEST(MappedFileTest, MapsContents) {
  test::TempDir dir;
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  test::write_file(dir.file("a.bin"), bytes);
  auto file = MappedFile::open(dir.file("a.bin"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_EQ(file->size(), bytes.size());
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), file->data()));
  file->prefetch(100, 1 << 30);  // clamped, harmless
  // Moving keeps the mapping valid.
  const uint8_t* p = file->data();
  MappedFile moved = std::move(file).value();
  EXPECT_EQ(moved.data(), p);
  EXPECT_EQ(moved.data()[9999], bytes[9999]);
}

TEST(MappedFileTest, EmptyFileHasSizeZero) {
  test::TempDir dir;
  test::write_file(dir.file("empty"), {});
  auto file = MappedFile::open(dir.file("empty"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->size(), 0u);
}

TEST(MappedFileTest, Errors) {
  test::TempDir dir;
  auto missing = MappedFile::open(dir.file("nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  auto directory = MappedFile::open(dir.path());
  EXPECT_EQ(directory.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(directory.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace quire
