#include "core/tokenizer.h"

#include <gtest/gtest.h>

namespace lightrl {
namespace {

TEST(TokenizerTest, BytesRoundTripIncludingNonAscii) {
  const std::string with_nul("12+34=46\n\xc3\xa9\0\xff", 13);
  const std::vector<int32_t> ids = ByteTokenizer::Encode(with_nul);
  ASSERT_EQ(ids.size(), with_nul.size());
  EXPECT_EQ(ids[0], '1');
  auto back = ByteTokenizer::Decode(ids);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, with_nul);
}

TEST(TokenizerTest, SpecialTokensDecodeToTheirNamesButAreNeverEncoded) {
  const std::vector<int32_t> ids = {ByteTokenizer::kBos, 'a', ByteTokenizer::kEos};
  EXPECT_EQ(*ByteTokenizer::Decode(ids), "<|bos|>a<|eos|>");
  EXPECT_EQ(ByteTokenizer::Encode("<|eos|>").size(), 7u);
  EXPECT_EQ(*ByteTokenizer::SpecialId("<|/answer|>"), ByteTokenizer::kEndAnswer);
  EXPECT_EQ(ByteTokenizer::SpecialId("<|nope|>").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*ByteTokenizer::TokenText(ByteTokenizer::kThink), "<|think|>");
}

TEST(TokenizerTest, RejectsIdsOutsideTheVocabulary) {
  for (int32_t bad : {-1, ByteTokenizer::kVocabSize, 100000}) {
    const std::vector<int32_t> ids = {'a', 'b', bad};
    auto text = ByteTokenizer::Decode(ids);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(text.status().message().find("position 2"), std::string_view::npos);
    EXPECT_FALSE(ByteTokenizer::Validate(ids).ok());
    EXPECT_FALSE(ByteTokenizer::TokenText(bad).ok());
  }
  EXPECT_TRUE(ByteTokenizer::Validate(ByteTokenizer::Encode("fine")).ok());
}

TEST(ByteTokenizerTest, PromptsStartWithBosAndCompletionsDropTheirEos) {
  std::vector<int32_t> prompt = ByteTokenizer::EncodePrompt("1+2=");
  EXPECT_EQ(prompt, (std::vector<int32_t>{ByteTokenizer::kBos, '1', '+', '2', '='}));
  std::vector<int32_t> completion = {'3', ByteTokenizer::kEos};
  EXPECT_EQ(*ByteTokenizer::DecodeCompletion(completion), "3");
  std::vector<int32_t> cut = {'3', '4'};
  EXPECT_EQ(*ByteTokenizer::DecodeCompletion(cut), "34");
  std::vector<int32_t> bad = {'3', 999};
  EXPECT_FALSE(ByteTokenizer::DecodeCompletion(bad).ok());
}

}  // namespace
}  // namespace lightrl
