// The text machinery under the components: ill-formed UTF-8, Oniguruma patterns on PCRE2, and
// the split behaviours.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/split.h"
#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

TEST(Utf8Test, EachMaximalIllFormedSubsequenceBecomesOneReplacement) {
  const std::string r(kReplacementChar);
  EXPECT_EQ(ToValidUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98"), r);  // A cut 4-byte sequence: one.
  EXPECT_EQ(ToValidUtf8("\xE2\x82"
                        "a"),
            r + "a");                                         // A cut 3-byte sequence: one.
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), r + r);                  // Overlong: never a valid prefix.
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), r + r + r);          // A surrogate.
  EXPECT_EQ(ToValidUtf8("\xF4\x90\x80\x80"), r + r + r + r);  // Above U+10FFFF.
  EXPECT_EQ(ToValidUtf8("\x80\x80\xFF"), r + r + r);
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul \0 ok", 8)));
}

// The matches of an Oniguruma pattern in `text`, as "begin-end" strings.
std::vector<std::string> Matches(std::string_view pattern, std::string_view text) {
  auto regex = Regex::FromOniguruma(pattern);
  EXPECT_TRUE(regex.ok()) << regex.status();
  std::vector<std::string> found;
  EXPECT_TRUE(regex
                  ->FindAll(text,
                            [&](size_t begin, size_t end) {
                              found.push_back(std::string(text.substr(begin, end - begin)));
                            })
                  .ok());
  return found;
}

using Strings = std::vector<std::string>;

TEST(RegexTest, ClassesMeanWhatOnigurumaMeans) {
  // \s includes NEL (U+0085), which PCRE2's \s does not.
  EXPECT_EQ(Matches("\\s+", "a\xC2\x85\t b"), (Strings{"\xC2\x85\t "}));
  EXPECT_EQ(Matches("[^\\s]+",
                    "a\xC2\x85"
                    "b"),
            (Strings{"a", "b"}));
  // \w includes combining marks (M), which PCRE2's \w does not.
  EXPECT_EQ(Matches("\\w+", "e\xCC\x81t\xC3\xA9! x_1"), (Strings{"e\xCC\x81t\xC3\xA9", "x_1"}));
  // \h is a hexadecimal digit, \v a vertical tab.
  EXPECT_EQ(Matches("\\h+", "0xBEEF zz"), (Strings{"0", "BEEF"}));
  EXPECT_EQ(Matches("\\v", "a\vb\nc"), (Strings{"\v"}));
  EXPECT_EQ(Matches("\\u00e9", "caf\xC3\xA9"), (Strings{"\xC3\xA9"}));
  // ^ and $ are line anchors; (?m) is dot-all.
  EXPECT_EQ(Matches("^\\w", "ab\ncd"), (Strings{"a", "c"}));
  EXPECT_EQ(Matches("(?m)a.b", "a\nb"), (Strings{"a\nb"}));
  EXPECT_EQ(Matches("a.b", "a\nb"), (Strings{}));
  EXPECT_EQ(Matches("(?i:'s)", "it'S"), (Strings{"'S"}));
}

TEST(RegexTest, WhatCannotBeTranslatedIsRefused) {
  for (const char* pattern : {"[\\S]", "[\\W]", "[a-z&&[^aeiou]]", "[[a]]", "\\y", "(?s)a"}) {
    auto regex = Regex::FromOniguruma(pattern);
    EXPECT_EQ(regex.status().code(), StatusCode::kInvalidArgument) << pattern;
  }
  EXPECT_EQ(*OnigurumaToPcre2("[[:alpha:]\\d]"), "[[:alpha:]\\d]");
}

TEST(RegexTest, FindAllTerminatesOnEmptyMatches) {
  EXPECT_EQ(Matches("a*", "baab"), (Strings{"", "aa", ""}));
}

// The pieces of "the-final--countdown" split on "-" with `behavior` (the Rust library's
// documented examples).
Strings SplitOnDash(SplitBehavior behavior) {
  const std::string text = "the-final--countdown";
  std::vector<Span> spans;
  EXPECT_TRUE(Pattern::Literal("-").FindSpans(text, spans).ok());
  Strings pieces;
  EXPECT_TRUE(SplitSpans(spans, behavior, [&](size_t begin, size_t end) {
                pieces.push_back(text.substr(begin, end - begin));
                return Status::Ok();
              }).ok());
  return pieces;
}

TEST(SplitTest, Behaviours) {
  EXPECT_EQ(SplitOnDash(SplitBehavior::kRemoved), (Strings{"the", "final", "countdown"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kIsolated),
            (Strings{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kMergedWithPrevious),
            (Strings{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kMergedWithNext),
            (Strings{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kContiguous),
            (Strings{"the", "-", "final", "--", "countdown"}));
}

TEST(SplitTest, CharacterPatternsMatchEachCharacterAlone) {
  std::vector<Span> spans;
  FindCharSpans("ab12c3", IsNumeric, spans);
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(spans[1].begin, 2u);
  EXPECT_EQ(spans[1].end, 3u);
  EXPECT_TRUE(spans[1].is_match && spans[2].is_match && !spans[3].is_match);
}

}  // namespace
}  // namespace lightrl::tokenizer
