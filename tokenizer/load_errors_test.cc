// Bad tokenizer files: each is refused with an error naming the file and the item.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/hf_tokenizer.h"

namespace lightrl {
namespace {

using nlohmann::json;

// A small valid tokenizer.json: a byte-level BPE over "a", "b", "c" with one merge.
json Valid() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 4, "content": "<x>", "single_word": false, "lstrip": false,
                      "rstrip": false, "normalized": false, "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
    "post_processor": null, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "dropout": null, "unk_token": null,
              "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
              "byte_fallback": false, "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3},
              "merges": ["a b"]}})");
}

// The error of loading `document` as "tok.json".
Status LoadError(const json& document) {
  auto tokenizer = HfTokenizer::FromJson(document.dump(), "tok.json");
  return tokenizer.ok() ? Status::Ok() : tokenizer.status();
}

TEST(LoadErrorsTest, TheValidFileLoadsAndWorks) {
  auto tokenizer = HfTokenizer::FromJson(Valid().dump(), "tok.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(*(*tokenizer)->Encode("abc<x>", false), (std::vector<TokenId>{3, 2, 4}));
}

TEST(LoadErrorsTest, MissingFile) {
  auto tokenizer = HfTokenizer::FromFile("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tokenizer.status().message(),
            "/nonexistent/dir/tokenizer.json: cannot open the tokenizer file");
}

TEST(LoadErrorsTest, MalformedJson) {
  auto tokenizer = HfTokenizer::FromJson(R"({"model": {"type": "BPE",)", "tok.json");
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(tokenizer.status().message().starts_with("tok.json: malformed JSON: "))
      << tokenizer.status();
}

TEST(LoadErrorsTest, UnknownComponentTypesNameTheirPath) {
  json document = Valid();
  document["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Foo"}});
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: pre_tokenizer.pretokenizers[1]: unknown pre-tokenizer type \"Foo\"");
  document = Valid();
  document["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: normalizer: unknown normalizer type \"BertNormalizer\"");
  document = Valid();
  document["decoder"] = {{"type", "Sequence"}, {"decoders", {{{"type", "CTC"}}}}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: decoder.decoders[0]: unknown decoder type \"CTC\"");
  document = Valid();
  document["post_processor"] = {{"type", "RobertaProcessing"}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: post_processor: unknown post-processor type \"RobertaProcessing\"");
  document = Valid();
  document["model"]["type"] = "Unigram";
  EXPECT_EQ(LoadError(document).message(), "tok.json: model: unsupported model type \"Unigram\"");
}

TEST(LoadErrorsTest, UnknownOptionsAreRefusedNotIgnored) {
  json document = Valid();
  document["pre_tokenizer"]["pretokenizers"][0]["prefix_everything"] = true;
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: pre_tokenizer.pretokenizers[0]: unsupported option \"prefix_everything\"");
  document = Valid();
  document["model"]["dropout"] = 0.1;
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: model.dropout: BPE dropout is not supported (encoding must be "
            "deterministic)");
  document = Valid();
  document["truncation"] = {{"max_length", 512}};
  EXPECT_EQ(LoadError(document).message(), "tok.json: truncation: not supported (must be null)");
}

TEST(LoadErrorsTest, MergeNamingAnUnknownToken) {
  json document = Valid();
  document["model"]["merges"].push_back("b zz");
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: model.merges[1]: \"zz\" is not in the vocabulary");
  document = Valid();
  document["model"]["merges"].push_back("b c");
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: model.merges[1]: the merged token \"bc\" is not in the vocabulary");
  document = Valid();
  document["model"]["merges"] = {{"a", "b"}, {"a"}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: model.merges[1]: expected [\"left\", \"right\"]");
}

TEST(LoadErrorsTest, AddedTokenIdsThatCollideOrDifferFromTheReference) {
  json document = Valid();
  json token = document["added_tokens"][0];
  token["content"] = "<y>";  // Same id 4 as "<x>".
  document["added_tokens"].push_back(token);
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: added_tokens[1]: id 4 of \"<y>\" is already the id of \"<x>\"");

  document = Valid();
  document["added_tokens"][0]["id"] = 9;  // The Rust library would give it 4.
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: added_tokens[0]: \"<x>\" has id 9, but the Rust library gives it id 4 "
            "(a token in the model's vocabulary keeps its id; the others follow the vocabulary "
            "in file order)");

  document = Valid();
  document["added_tokens"][0]["content"] = "b";  // In the vocabulary, with id 1.
  EXPECT_TRUE(LoadError(document).message().starts_with(
      "tok.json: added_tokens[0]: \"b\" has id 4, but the Rust library gives it id 1 "))
      << LoadError(document);
}

TEST(LoadErrorsTest, ConfigurationsThatCannotBeHonouredExactly) {
  json document = Valid();
  document["normalizer"] = {{"type", "NFC"}};
  document["pre_tokenizer"] = {
      {"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "first"}, {"split", false}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: pre_tokenizer: prepend_scheme \"first\" is supported only as the first "
            "pre-tokenizer and without a normalizer");
  document = Valid();
  document["pre_tokenizer"] = {{"type", "Split"},
                               {"pattern", {{"Regex", "[\\S&&[a-z]]"}}},
                               {"behavior", "Isolated"},
                               {"invert", false}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: pre_tokenizer.pattern.Regex: pattern \"[\\S&&[a-z]]\": regex: \\S inside a "
            "character class at offset 1 has no PCRE2 translation");
  document = Valid();
  document["pre_tokenizer"] = {{"type", "Split"},
                               {"pattern", {{"Regex", "(unclosed"}}},
                               {"behavior", "Isolated"},
                               {"invert", false}};
  EXPECT_TRUE(LoadError(document).message().starts_with(
      "tok.json: pre_tokenizer.pattern.Regex: pattern \"(unclosed\": PCRE2: "))
      << LoadError(document);
  document = Valid();
  document["pre_tokenizer"] = {{"type", "Split"},
                               {"pattern", {{"String", " "}}},
                               {"behavior", "Sideways"},
                               {"invert", false}};
  EXPECT_EQ(LoadError(document).message(),
            "tok.json: pre_tokenizer.behavior: unknown behavior \"Sideways\"");
}

}  // namespace
}  // namespace lightrl
