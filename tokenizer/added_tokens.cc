#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <utility>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

// The regex crate's \w: Alphabetic, M, Nd, Pc and Join_Control.
constexpr std::string_view kWordClass = R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])";

StatusOr<AddedToken> ParseToken(const JsonNode& node) {
  RETURN_IF_ERROR(node.CheckKeys(
      {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}));
  AddedToken token;
  ASSIGN_OR_RETURN(const int64_t id, node.Int("id"));
  if (id < 0 || id > INT32_MAX - 1) return node.Error("id out of range");
  token.id = static_cast<TokenId>(id);
  ASSIGN_OR_RETURN(token.content, node.String("content"));
  if (token.content.empty()) return node.Error("empty content");
  ASSIGN_OR_RETURN(token.special, node.OptionalBool("special", false));
  ASSIGN_OR_RETURN(token.single_word, node.OptionalBool("single_word", false));
  ASSIGN_OR_RETURN(token.lstrip, node.OptionalBool("lstrip", false));
  ASSIGN_OR_RETURN(token.rstrip, node.OptionalBool("rstrip", false));
  ASSIGN_OR_RETURN(token.normalized, node.OptionalBool("normalized", !token.special));
  return token;
}

// Where the run of White_Space that ends at `end` begins.
size_t WhiteSpaceBefore(std::string_view text, size_t end) {
  while (end > 0) {
    size_t previous = end;
    if (!IsWhiteSpace(PreviousCodePoint(text, previous))) break;
    end = previous;
  }
  return end;
}

// Where the run of White_Space that begins at `begin` ends.
size_t WhiteSpaceAfter(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t next = begin;
    if (!IsWhiteSpace(NextCodePoint(text, next))) break;
    begin = next;
  }
  return begin;
}

}  // namespace

void AddedVocabulary::Trie::Insert(std::string_view content, int32_t token) {
  int32_t node = 0;
  for (const char c : content) {
    const auto byte = static_cast<uint8_t>(c);
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN));
    if (it == children.end() || it->first != byte) {
      const auto child = static_cast<int32_t>(nodes.size());
      children.insert(it, {byte, child});
      nodes.emplace_back();
      node = child;
    } else {
      node = it->second;
    }
  }
  starts[static_cast<uint8_t>(content[0])] = true;
  if (nodes[node].token < 0) nodes[node].token = token;
}

std::pair<int32_t, size_t> AddedVocabulary::Trie::LongestAt(std::string_view text,
                                                            size_t pos) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN));
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes[node].token >= 0) best = {nodes[node].token, i + 1 - pos};
  }
  return best;
}

StatusOr<AddedVocabulary> AddedVocabulary::Load(const JsonNode& list, const Bpe& model,
                                                const Normalizer* normalizer) {
  AddedVocabulary vocabulary;
  ASSIGN_OR_RETURN(const size_t size, list.ArraySize());
  // The model's vocabulary size as the Rust library counts it: its number of tokens.
  TokenId model_count = 0;
  for (TokenId id = 0; id < model.IdBound(); ++id) model_count += model.IdToToken(id) != nullptr;
  TokenId next_new = model_count;
  for (size_t i = 0; i < size; ++i) {
    const JsonNode node = list.Element(i);
    ASSIGN_OR_RETURN(AddedToken token, ParseToken(node));
    if (vocabulary.by_content_.Find(token.content) != StringMap::kAbsent) {
      return node.Error("\"" + token.content + "\" is listed twice");
    }
    const std::optional<TokenId> in_model = model.TokenToId(token.content);
    const TokenId expected = in_model ? *in_model : next_new;
    if (token.id != expected) {
      for (const AddedToken& other : vocabulary.tokens_) {
        if (other.id == token.id) {
          return node.Error("id " + std::to_string(token.id) + " of \"" + token.content +
                            "\" is already the id of \"" + other.content + "\"");
        }
      }
      return node.Error("\"" + token.content + "\" has id " + std::to_string(token.id) +
                        ", but the Rust library gives it id " + std::to_string(expected) +
                        " (a token in the model's vocabulary keeps its id; the others follow "
                        "the vocabulary in file order)");
    }
    if (!in_model && model.IdToToken(expected) != nullptr) {
      return node.Error("id " + std::to_string(expected) + " of \"" + token.content +
                        "\" is already the id of \"" + *model.IdToToken(expected) + "\"");
    }
    next_new = std::max(next_new, token.id + 1);
    vocabulary.by_content_.Set(token.content, static_cast<int32_t>(vocabulary.tokens_.size()));
    vocabulary.tokens_.push_back(std::move(token));
  }
  std::sort(vocabulary.tokens_.begin(), vocabulary.tokens_.end(),
            [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  vocabulary.by_content_.Clear();
  bool any_single_word = false;
  for (size_t i = 0; i < vocabulary.tokens_.size(); ++i) {
    AddedToken& token = vocabulary.tokens_[i];
    const auto index = static_cast<int32_t>(i);
    vocabulary.by_content_.Set(token.content, index);
    if (token.special) vocabulary.special_contents_.Set(token.content, index);
    any_single_word = any_single_word || token.single_word;
    token.text = token.content;
    if (!token.normalized) {
      vocabulary.raw_.Insert(token.content, index);
      continue;
    }
    if (normalizer != nullptr) RETURN_IF_ERROR(normalizer->Normalize(token.content, token.text));
    if (!token.text.empty()) vocabulary.normalized_.Insert(token.text, index);
  }
  if (any_single_word) {
    ASSIGN_OR_RETURN(Regex ends, Regex::FromPcre2(std::string(kWordClass) + "\\z"));
    ASSIGN_OR_RETURN(Regex starts, Regex::FromPcre2("\\A" + std::string(kWordClass)));
    vocabulary.ends_with_word_ = std::make_shared<const Regex>(std::move(ends));
    vocabulary.starts_with_word_ = std::make_shared<const Regex>(std::move(starts));
  }
  return vocabulary;
}

StatusOr<bool> AddedVocabulary::StandsAlone(std::string_view text, size_t begin, size_t end) const {
  if (begin > 0) {
    ASSIGN_OR_RETURN(const bool word_before, ends_with_word_->Search(text.substr(0, begin)));
    if (word_before) return false;
  }
  if (end < text.size()) {
    ASSIGN_OR_RETURN(const bool word_after, starts_with_word_->Search(text.substr(end)));
    if (word_after) return false;
  }
  return true;
}

Status AddedVocabulary::Split(std::string_view text, Set set, bool at_origin,
                              std::vector<TokenId>& ids, PieceSink gap) const {
  const Trie& trie = set == Set::kRaw ? raw_ : normalized_;
  size_t taken = 0;  // The end of the last token (with what it stripped).
  size_t pos = 0;    // Where the search goes on: the end of the last match.
  while (pos < text.size()) {
    if (!trie.starts[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [index, length] = trie.LongestAt(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + length;
    pos = end;
    const AddedToken& token = tokens_[index];
    if (token.single_word) {
      ASSIGN_OR_RETURN(const bool alone, StandsAlone(text, begin, end));
      if (!alone) continue;
    }
    if (token.lstrip) begin = std::max(WhiteSpaceBefore(text, begin), taken);
    if (token.rstrip) end = WhiteSpaceAfter(text, end);
    if (taken < begin)
      RETURN_IF_ERROR(gap(text.substr(taken, begin - taken), at_origin && taken == 0));
    ids.push_back(token.id);
    taken = end;
  }
  if (taken < text.size()) RETURN_IF_ERROR(gap(text.substr(taken), at_origin && taken == 0));
  return Status::Ok();
}

const AddedToken* AddedVocabulary::FindById(TokenId id) const {
  auto it =
      std::lower_bound(tokens_.begin(), tokens_.end(), id,
                       [](const AddedToken& token, TokenId value) { return token.id < value; });
  return it != tokens_.end() && it->id == id ? &*it : nullptr;
}

std::optional<TokenId> AddedVocabulary::FindByContent(std::string_view content) const {
  const int32_t index = by_content_.Find(content);
  if (index == StringMap::kAbsent) return std::nullopt;
  return tokens_[index].id;
}

bool AddedVocabulary::IsSpecial(std::string_view content) const {
  return special_contents_.Find(content) != StringMap::kAbsent;
}

}  // namespace lightrl::tokenizer
