// Every corpus case, encoded and decoded by every tokenizer, against the fixtures the Rust
// library wrote (tokenizer/testdata/make_fixtures.js).
#include "tokenizer/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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
