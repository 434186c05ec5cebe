// The BPE model on a tiny vocabulary, against ids the Rust library (tokenizers 0.23.2) gives for
// the same file and text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/hf_tokenizer.h"

namespace lightrl {
namespace {

using nlohmann::json;

// A tokenizer with only a BPE model: <unk>, a, b, c, merges "b c" < "a b" < "ab c" < "a bc",
// and byte tokens for the bytes of "€" and the first byte of "é"; `options` amend the model.
std::unique_ptr<HfTokenizer> Tiny(const json& options = json::object()) {
  json model = {{"type", "BPE"},
                {"unk_token", "<unk>"},
                {"vocab",
                 {{"<unk>", 0},
                  {"a", 1},
                  {"b", 2},
                  {"c", 3},
                  {"ab", 4},
                  {"bc", 5},
                  {"abc", 6},
                  {"<0xE2>", 7},
                  {"<0x82>", 8},
                  {"<0xAC>", 9},
                  {"<0xC3>", 10},
                  {"abcabc", 11}}},
                {"merges", {"b c", "a b", "ab c", "a bc"}}};
  model.update(options);
  auto tokenizer = HfTokenizer::FromJson(json{{"model", model}}.dump(), "tiny.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return std::move(tokenizer).value();
}

using Ids_ = std::vector<TokenId>;

Ids_ Ids(const HfTokenizer& tokenizer, std::string_view text) {
  auto ids = tokenizer.Encode(text, false);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : Ids_{};
}

TEST(BpeTest, MergesTheLowestRankFirst) {
  const auto tokenizer = Tiny();
  EXPECT_EQ(Ids(*tokenizer, "abc"), (Ids_{6}));  // b+c first, then a+bc.
  EXPECT_EQ(Ids(*tokenizer, "abcabc"), (Ids_{6, 6}));
  EXPECT_EQ(Ids(*tokenizer, "cab"), (Ids_{3, 4}));
  EXPECT_EQ(Ids(*tokenizer, "aabbcc"), (Ids_{1, 4, 5, 3}));
}

TEST(BpeTest, UnknownCharactersBecomeUnkFusedOrNotOrAreDropped) {
  EXPECT_EQ(Ids(*Tiny({{"fuse_unk", true}}), "a%%%b%c"), (Ids_{1, 0, 2, 0, 3}));
  EXPECT_EQ(Ids(*Tiny({{"fuse_unk", false}}), "a%%%b%c"), (Ids_{1, 0, 0, 0, 2, 0, 3}));
  // Without an unk token they are dropped, and their neighbours merge across them.
  EXPECT_EQ(Ids(*Tiny({{"unk_token", nullptr}}), "a%%%b%c"), (Ids_{6}));
}

TEST(BpeTest, ByteFallbackNeedsEveryByteAndLeavesAPendingUnkPending) {
  const auto tokenizer = Tiny({{"byte_fallback", true}});
  EXPECT_EQ(Ids(*tokenizer, "\xE2\x82\xAC"), (Ids_{7, 8, 9}));   // "€"
  EXPECT_EQ(Ids(*tokenizer, "\xC3\xA9\xC3\xA9"), (Ids_{0, 0}));  // "éé": no <0xA9>.
  // The unk of "é" comes out after the bytes of the "€" that follows it, as in Rust.
  EXPECT_EQ(Ids(*tokenizer,
                "a\xC3\xA9\xE2\x82\xAC"
                "a"),
            (Ids_{1, 7, 8, 9, 0, 1}));
  EXPECT_EQ(Ids(*Tiny({{"byte_fallback", true}, {"fuse_unk", true}}),
                "a\xC3\xA9\xE2\x82\xAC\xC3\xA9\xC3\xA9"
                "a"),
            (Ids_{1, 7, 8, 9, 0, 1}));
}

TEST(BpeTest, IgnoreMergesTakesAWholeWordFromTheVocabulary) {
  EXPECT_EQ(Ids(*Tiny({{"ignore_merges", true}}), "abcabc"), (Ids_{11}));
  EXPECT_EQ(Ids(*Tiny({{"ignore_merges", false}}), "abcabc"), (Ids_{6, 6}));
}

TEST(BpeTest, VocabularyLookups) {
  const auto tokenizer = Tiny();
  EXPECT_EQ(tokenizer->VocabSize(), 12);
  EXPECT_EQ(*tokenizer->TokenToId("abc"), 6);
  EXPECT_EQ(*tokenizer->IdToToken(6), "abc");
  EXPECT_EQ(tokenizer->TokenToId("zzz").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tokenizer->IdToToken(12).status().code(), StatusCode::kNotFound);
  const std::vector<TokenId> bad = {1, 99};
  auto text = tokenizer->Decode(bad, false);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "id 99 at position 1 is not in the vocabulary");
}

}  // namespace
}  // namespace lightrl
