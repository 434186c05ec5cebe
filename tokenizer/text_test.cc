// The text machinery under the components: ill-formed UTF-8, Oniguruma patterns on PCRE2, and
// the split behaviours.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
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

// The NFC fast path: every character it lets through is one that utf8proc's NFC leaves alone,
// that has combining class 0 and that no composition takes as its second character.
TEST(Utf8Test, NfcInertCharactersAreInertForUtf8proc) {
  int checked = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (!IsNfcInert(c) || (c >= 0xD800 && c <= 0xDFFF)) continue;
    const utf8proc_property_t* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    ASSERT_EQ(property->combining_class, 0) << std::hex << static_cast<uint32_t>(c);
    ASSERT_FALSE(property->comb_index != UINT16_MAX && property->comb_index >= 0x8000)
        << std::hex << static_cast<uint32_t>(c);
    std::string utf8;
    AppendUtf8(c, utf8);
    utf8proc_uint8_t* nfc = nullptr;
    const utf8proc_ssize_t size =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                     static_cast<utf8proc_ssize_t>(utf8.size()), &nfc,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    ASSERT_EQ(std::string(reinterpret_cast<char*>(nfc), static_cast<size_t>(size)), utf8)
        << std::hex << static_cast<uint32_t>(c);
    std::free(nfc);
    ++checked;
  }
  EXPECT_GT(checked, 40000);
  EXPECT_FALSE(IsNfcInert(0x301));   // A combining mark.
  EXPECT_FALSE(IsNfcInert(0x1161));  // A Hangul vowel jamo, the second of a composition.
  EXPECT_FALSE(IsNfcInert(0x2126));  // The Ohm sign, which NFC replaces.
}

// The matched texts of an Oniguruma pattern in `text`.
std::vector<std::string> Matches(std::string_view pattern, std::string_view text) {
  auto regex = Regex::FromOniguruma(pattern);
  EXPECT_TRUE(regex.ok()) << regex.status();
  std::vector<std::string> found;
  const auto collect = [&](size_t begin, size_t end) {
    found.push_back(std::string(text.substr(begin, end - begin)));
    return Status::Ok();
  };
  EXPECT_TRUE(regex->FindAll(text, collect).ok());
  return found;
}

using Strings = std::vector<std::string>;

// Each expectation below is what the Rust library (Oniguruma) gives for the same pattern and text.
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
  // \b follows Oniguruma's \w.
  EXPECT_EQ(Matches("\\bfo",
                    "fo afo \xC3\xA9"
                    "fo"),
            (Strings{"fo"}));
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

// The pieces of `text` split on "-" with `behavior`.
Strings SplitOnDash(SplitBehavior behavior, const std::string& text = "the-final--countdown") {
  Strings pieces;
  const auto emit = [&](size_t begin, size_t end) {
    pieces.push_back(text.substr(begin, end - begin));
    return Status::Ok();
  };
  SpanSplitter splitter(behavior, emit);
  EXPECT_TRUE(
      Pattern::Literal("-").ForEachSpan(text, [&](Span span) { return splitter.Add(span); }).ok());
  EXPECT_TRUE(splitter.Finish().ok());
  return pieces;
}

// The Rust library's documented examples.
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

TEST(SplitTest, EdgesOfTheText) {
  EXPECT_EQ(SplitOnDash(SplitBehavior::kMergedWithNext, "-a--"), (Strings{"-a", "-", "-"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kMergedWithPrevious, "-a--"), (Strings{"-", "a-", "-"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kContiguous, "--a"), (Strings{"--", "a"}));
  EXPECT_EQ(SplitOnDash(SplitBehavior::kRemoved, "---"), (Strings{}));
}

TEST(SplitTest, CharacterPatternsMatchEachCharacterAlone) {
  std::vector<Span> spans;
  EXPECT_TRUE(ForEachCharSpan("ab12c3", IsNumeric, [&](Span span) {
                spans.push_back(span);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(spans[1].begin, 2u);
  EXPECT_EQ(spans[1].end, 3u);
  EXPECT_TRUE(spans[1].is_match && spans[2].is_match && !spans[3].is_match);
}

}  // namespace
}  // namespace lightrl::tokenizer
