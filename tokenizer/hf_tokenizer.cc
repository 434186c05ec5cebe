#include "tokenizer/hf_tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoders.h"
#include "tokenizer/json_node.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode.h"

namespace lightrl {

using tokenizer::AddedVocabulary;
using tokenizer::JsonNode;

HfTokenizer::~HfTokenizer() = default;

StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::FromFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError(path + ": cannot open the tokenizer file");
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return DataLossError(path + ": read failed");
  return FromJson(contents.str(), path);
}

StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::FromJson(std::string_view json,
                                                             const std::string& file) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& error) {
    return InvalidArgumentError(file + ": malformed JSON: " + error.what());
  }
  const JsonNode root(document, file);
  RETURN_IF_ERROR(root.CheckKeys({"version", "truncation", "padding", "added_tokens", "normalizer",
                                  "pre_tokenizer", "post_processor", "decoder", "model"}));
  for (const char* unsupported : {"truncation", "padding"}) {
    const JsonNode node = root.ChildOrNull(unsupported);
    if (!node.IsNull()) return node.Error("not supported (must be null)");
  }
  ASSIGN_OR_RETURN(const std::string version, root.OptionalString("version", "1.0"));
  if (version != "1.0") return root.Error("unknown tokenizer version \"" + version + "\"");

  std::unique_ptr<HfTokenizer> tokenizer(new HfTokenizer());
  ASSIGN_OR_RETURN(const JsonNode model, root.Child("model"));
  ASSIGN_OR_RETURN(const std::string model_type, model.Type());
  if (model_type != "BPE") return model.Error("unsupported model type \"" + model_type + "\"");
  ASSIGN_OR_RETURN(tokenizer->model_, tokenizer::Bpe::Load(model));

  const JsonNode normalizer = root.ChildOrNull("normalizer");
  if (!normalizer.IsNull()) {
    ASSIGN_OR_RETURN(tokenizer->normalizer_, tokenizer::LoadNormalizer(normalizer));
  }
  const JsonNode pre_tokenizer = root.ChildOrNull("pre_tokenizer");
  if (!pre_tokenizer.IsNull()) {
    ASSIGN_OR_RETURN(tokenizer->pre_tokenizer_,
                     tokenizer::LoadPreTokenizer(pre_tokenizer, normalizer.IsNull()));
  }
  ASSIGN_OR_RETURN(tokenizer::SpecialTokenFrame frame,
                   tokenizer::LoadPostProcessor(root.ChildOrNull("post_processor")));
  tokenizer->frame_ = std::make_unique<tokenizer::SpecialTokenFrame>(std::move(frame));
  const JsonNode decoder = root.ChildOrNull("decoder");
  if (!decoder.IsNull()) {
    ASSIGN_OR_RETURN(tokenizer->decoder_, tokenizer::LoadDecoder(decoder));
  }
  const JsonNode added_node = root.ChildOrNull("added_tokens");
  AddedVocabulary added;
  if (!added_node.IsNull()) {
    ASSIGN_OR_RETURN(
        added, AddedVocabulary::Load(added_node, *tokenizer->model_, tokenizer->normalizer_.get()));
  }
  tokenizer->added_ = std::make_unique<AddedVocabulary>(std::move(added));
  return tokenizer;
}

Status HfTokenizer::EncodePiece(std::string_view piece, bool at_origin,
                                std::vector<TokenId>& ids) const {
  const auto encode_word = [&](std::string_view word, bool) {
    model_->Encode(word, ids);
    return Status::Ok();
  };
  const auto pre_tokenize = [&](std::string_view text, bool origin) {
    if (!pre_tokenizer_) return encode_word(text, origin);
    return pre_tokenizer_->PreTokenize(text, origin, encode_word);
  };
  std::string normalized;
  if (normalizer_) {
    RETURN_IF_ERROR(normalizer_->Normalize(piece, normalized));
    piece = normalized;
  }
  return added_->Split(piece, AddedVocabulary::Set::kNormalized, at_origin, ids, pre_tokenize);
}

StatusOr<std::vector<TokenId>> HfTokenizer::Encode(std::string_view text,
                                                   bool add_special_tokens) const {
  std::string valid;
  if (!tokenizer::IsValidUtf8(text)) {
    valid = tokenizer::ToValidUtf8(text);
    text = valid;
  }
  std::vector<TokenId> ids;
  if (add_special_tokens) ids = frame_->before;
  RETURN_IF_ERROR(added_->Split(
      text, AddedVocabulary::Set::kRaw, /*at_origin=*/true, ids,
      [&](std::string_view piece, bool at_origin) { return EncodePiece(piece, at_origin, ids); }));
  if (add_special_tokens) ids.insert(ids.end(), frame_->after.begin(), frame_->after.end());
  return ids;
}

const std::string* HfTokenizer::TokenText(TokenId id) const {
  if (const tokenizer::AddedToken* token = added_->FindById(id)) return &token->text;
  return model_->IdToToken(id);
}

StatusOr<std::string> HfTokenizer::Decode(std::span<const TokenId> ids,
                                          bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string* text = TokenText(ids[i]);
    if (text == nullptr) {
      return InvalidArgumentError("id " + std::to_string(ids[i]) + " at position " +
                                  std::to_string(i) + " is not in the vocabulary");
    }
    if (skip_special_tokens && added_->IsSpecial(*text)) continue;
    tokens.push_back(*text);
  }
  if (!decoder_) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  RETURN_IF_ERROR(decoder_->DecodeChain(tokens));
  std::string joined;
  for (const std::string& token : tokens) joined += token;
  return joined;
}

TokenId HfTokenizer::VocabSize() const {
  TokenId size = model_->IdBound();
  if (!added_->tokens().empty()) size = std::max(size, added_->tokens().back().id + 1);
  return size;
}

StatusOr<TokenId> HfTokenizer::TokenToId(std::string_view token) const {
  if (const std::optional<TokenId> id = added_->FindByContent(token)) return *id;
  if (const std::optional<TokenId> id = model_->TokenToId(token)) return *id;
  return NotFoundError("no token \"" + std::string(token) + "\"");
}

StatusOr<std::string> HfTokenizer::IdToToken(TokenId id) const {
  const std::string* text = TokenText(id);
  if (text == nullptr) return NotFoundError("no token with id " + std::to_string(id));
  return *text;
}

std::vector<Tokenizer::SpecialToken> HfTokenizer::SpecialTokens() const {
  std::vector<SpecialToken> special;
  for (const tokenizer::AddedToken& token : added_->tokens()) {
    if (token.special) special.push_back({token.content, token.id});
  }
  return special;
}

}  // namespace lightrl
