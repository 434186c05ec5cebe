#include "tasks/code_extraction.h"

#include <gtest/gtest.h>

namespace lightrl {
namespace {

TEST(ExtractCodeTest, TakesTheLastFencedBlock) {
  EXPECT_EQ(ExtractCode("Plan:\n```python\nx = 1\n```\nBetter:\n```python\nprint(2)\n```\n"),
            "print(2)\n");
  EXPECT_EQ(ExtractCode("```\necho hi\n```"), "echo hi\n");
  EXPECT_EQ(ExtractCode("```cpp\nint main() {}\n```"), "int main() {}\n");
}

TEST(ExtractCodeTest, WholeCompletionWithoutFences) {
  EXPECT_EQ(ExtractCode("print(input())\n"), "print(input())\n");
  EXPECT_EQ(ExtractCode("s = '```'"), "s = '```'");  // Not at a line start: not a fence.
}

TEST(ExtractCodeTest, NothingUsableIsNullopt) {
  EXPECT_FALSE(ExtractCode("").has_value());
  EXPECT_FALSE(ExtractCode(" \n\t").has_value());
  EXPECT_FALSE(ExtractCode("```python\nprint(1)\n").has_value());  // Never closed.
  EXPECT_FALSE(ExtractCode("```python\n```").has_value());         // Empty block.
}

}  // namespace
}  // namespace lightrl
