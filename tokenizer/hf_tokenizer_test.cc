// Every corpus case, encoded and decoded by every tokenizer, against the fixtures the Rust
// library wrote (tokenizer/testdata/make_fixtures.js).
#include "tokenizer/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tokenizer/testdata_test_util.h"

namespace lightrl::tokenizer {
namespace {

StatusOr<std::unique_ptr<HfTokenizer>> LoadNamed(const std::string& name) {
  ASSIGN_OR_RETURN(const std::string json, TokenizerJson(name));
  return HfTokenizer::FromJson(json, name);
}

class FixtureTest : public testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, EncodesAndDecodesEveryCaseAsTheRustLibrary) {
  const std::string& name = GetParam();
  auto tokenizer = LoadNamed(name);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto corpus = ReadCorpus();
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  auto fixture_text = ReadFile(SourceTestdata() + "/fixtures/" + name + ".json");
  ASSERT_TRUE(fixture_text.ok()) << fixture_text.status();
  const nlohmann::json cases = nlohmann::json::parse(*fixture_text)["cases"];
  ASSERT_EQ(cases.size(), corpus->size()) << "fixtures are stale: rerun make_fixtures.js";

  int encode_equal = 0, decode_equal = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& text = (*corpus)[i];
    const auto want_with = cases[i][0].get<std::vector<TokenId>>();
    const auto want_without = cases[i][1].get<std::vector<TokenId>>();
    auto with = (*tokenizer)->Encode(text, /*add_special_tokens=*/true);
    auto without = (*tokenizer)->Encode(text, /*add_special_tokens=*/false);
    ASSERT_TRUE(with.ok() && without.ok()) << with.status() << without.status();
    EXPECT_EQ(*with, want_with) << name << " case " << i << ": " << text;
    EXPECT_EQ(*without, want_without) << name << " case " << i << ": " << text;
    encode_equal += *with == want_with && *without == want_without;

    std::vector<TokenId> reversed(want_without.rbegin(), want_without.rend());
    auto text_kept = (*tokenizer)->Decode(want_with, /*skip_special_tokens=*/false);
    auto text_skipped = (*tokenizer)->Decode(want_with, /*skip_special_tokens=*/true);
    auto text_reversed = (*tokenizer)->Decode(reversed, /*skip_special_tokens=*/false);
    ASSERT_TRUE(text_kept.ok() && text_skipped.ok() && text_reversed.ok());
    EXPECT_EQ(*text_kept, cases[i][2].get<std::string>()) << name << " case " << i;
    EXPECT_EQ(*text_skipped, cases[i][3].get<std::string>()) << name << " case " << i;
    EXPECT_EQ(*text_reversed, cases[i][4].get<std::string>()) << name << " case " << i;
    decode_equal +=
        *text_kept == cases[i][2] && *text_skipped == cases[i][3] && *text_reversed == cases[i][4];
  }
  std::printf("%s: encode %d/%zu cases equal, decode %d/%zu\n", name.c_str(), encode_equal,
              cases.size(), decode_equal, cases.size());
}

// Encode is const and runs from many threads at once (each with its own caches and regex match
// data), giving what one thread gives.
TEST(HfTokenizerTest, EncodesTheSameFromManyThreads) {
  auto tokenizer = LoadNamed("tokenizer-qwen3-3.7.2");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto corpus = ReadCorpus();
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  std::vector<std::vector<TokenId>> expected;
  for (const std::string& text : *corpus) expected.push_back(*(*tokenizer)->Encode(text, true));
  constexpr int kThreads = 4;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < corpus->size(); ++i) {
          // Each thread walks the corpus from another starting case.
          const size_t at = (i + static_cast<size_t>(t) * 17) % corpus->size();
          auto ids = (*tokenizer)->Encode((*corpus)[at], true);
          wrong[t] += !ids.ok() || *ids != expected[at];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
}

TEST(HfTokenizerTest, SpecialTokensAndVocabulary) {
  auto tokenizer = LoadNamed("tokenizer-qwen3-3.7.2");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->VocabSize(), 151669);
  EXPECT_EQ(*(*tokenizer)->TokenToId("<|im_end|>"), 151645);
  EXPECT_EQ(*(*tokenizer)->IdToToken(151645), "<|im_end|>");
  EXPECT_EQ(*(*tokenizer)->TokenToId("Hello"), 9707);
  const std::vector<Tokenizer::SpecialToken> special = (*tokenizer)->SpecialTokens();
  ASSERT_EQ(special.size(), 14u);
  EXPECT_EQ(special.front().content, "<|endoftext|>");
  EXPECT_EQ(special.front().id, 151643);
}

std::vector<std::string> AllTokenizers() {
  std::vector<std::string> names = RealTokenizerNames();
  for (const std::string& name : SyntheticTokenizerNames()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(All, FixtureTest, testing::ValuesIn(AllTokenizers()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (const char c : info.param) name += std::isalnum(c) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace lightrl::tokenizer
