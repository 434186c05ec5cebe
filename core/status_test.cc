#include "core/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace lightrl {
namespace {

TEST(StatusTest, DefaultIsOkAndCarriesNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorKeepsCodeAndMessage) {
  Status s = InvalidArgumentError("bad key");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: bad key");
}

TEST(StatusTest, OkCodeDropsMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = NotFoundError("no tensor").WithContext("model.safetensors");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "model.safetensors: no tensor");
  EXPECT_TRUE(Status().WithContext("x").ok());
}

StatusOr<int> ParsePositive(int x) {
  if (x <= 0) return OutOfRangeError("not positive");
  return x;
}

Status Doubler(int x, int* out) {
  ASSIGN_OR_RETURN(int v, ParsePositive(x));
  *out = 2 * v;
  return Status::Ok();
}

Status Chain(int x) {
  RETURN_IF_ERROR(ParsePositive(x).status());
  return UnavailableError("reached end");
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<int> good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  StatusOr<int> bad = ParsePositive(-1);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kOutOfRange);
}

TEST(StatusOrTest, MacrosPropagateErrorsAndValues) {
  int out = 0;
  EXPECT_TRUE(Doubler(4, &out).ok());
  EXPECT_EQ(out, 8);
  EXPECT_EQ(Doubler(0, &out).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Chain(0).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Chain(1).code(), StatusCode::kUnavailable);
}

TEST(StatusOrTest, MoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> owned = std::move(p).value();
  EXPECT_EQ(*owned, 7);
}

TEST(StatusOrDeathTest, AccessWithoutValueDies) {
  StatusOr<int> bad = InternalError("boom");
  EXPECT_DEATH((void)bad.value(), "boom");
}

}  // namespace
}  // namespace lightrl
