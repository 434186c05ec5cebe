#include "tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "tokenizer/split.h"
#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Whether `text` is surely in NFC already: made of characters that NFC leaves as they are.
bool IsInertForNfc(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
    } else if (!IsNfcInert(NextCodePoint(text, pos))) {
      return false;
    }
  }
  return true;
}

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(int options) : options_(options) {}

  Status Normalize(std::string_view text, std::string& out) const override {
    const bool nfc = options_ == (UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (nfc ? IsInertForNfc(text) : IsAscii(text)) {  // ASCII is in every form.
      out.assign(text);
      return Status::Ok();
    }
    utf8proc_uint8_t* result = nullptr;
    const utf8proc_ssize_t size =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &result,
                     static_cast<utf8proc_option_t>(options_));
    if (size < 0) {
      return InternalError(std::string("unicode normalization: ") + utf8proc_errmsg(size));
    }
    out.assign(reinterpret_cast<const char*>(result), static_cast<size_t>(size));
    std::free(result);
    return Status::Ok();
  }

 private:
  int options_;
};

class Lowercase : public Normalizer {
 public:
  Status Normalize(std::string_view text, std::string& out) const override {
    out.clear();
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const unsigned char byte = static_cast<unsigned char>(text[pos]);
      if (byte < 0x80) {
        out.push_back(static_cast<char>(byte >= 'A' && byte <= 'Z' ? byte + 32 : byte));
        ++pos;
        continue;
      }
      const char32_t c = NextCodePoint(text, pos);
      if (c == 0x130) {  // The one unconditional multi-character lowercase mapping.
        out += "i\xCC\x87";
        continue;
      }
      AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), out);
    }
    return Status::Ok();
  }
};

class Replace : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  Status Normalize(std::string_view text, std::string& out) const override {
    return pattern_.Replace(text, content_, out);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}

  Status Normalize(std::string_view text, std::string& out) const override {
    out.clear();
    if (!text.empty()) {
      out.reserve(prefix_.size() + text.size());
      out += prefix_;
      out += text;
    }
    return Status::Ok();
  }

 private:
  std::string prefix_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}

  Status Normalize(std::string_view text, std::string& out) const override {
    size_t begin = 0, end = text.size();
    while (left_ && begin < end) {
      size_t next = begin;
      if (!IsWhiteSpace(NextCodePoint(text, next))) break;
      begin = next;
    }
    while (right_ && end > begin) {
      size_t previous = end;
      if (!IsWhiteSpace(PreviousCodePoint(text, previous))) break;
      end = previous;
    }
    out.assign(text.substr(begin, end - begin));
    return Status::Ok();
  }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> items) : items_(std::move(items)) {}

  Status Normalize(std::string_view text, std::string& out) const override {
    out.assign(text);
    std::string next;
    for (const auto& item : items_) {
      RETURN_IF_ERROR(item->Normalize(out, next));
      out.swap(next);
    }
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace

StatusOr<std::unique_ptr<Normalizer>> LoadNormalizer(const JsonNode& node) {
  RETURN_IF_ERROR(node.ExpectObject());
  ASSIGN_OR_RETURN(const std::string type, node.Type());
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    RETURN_IF_ERROR(node.CheckKeys({}));
    int options = UTF8PROC_STABLE | (type.back() == 'C' ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE);
    if (type.size() == 4) options |= UTF8PROC_COMPAT;
    return std::unique_ptr<Normalizer>(std::make_unique<UnicodeForm>(options));
  }
  if (type == "Lowercase") {
    RETURN_IF_ERROR(node.CheckKeys({}));
    return std::unique_ptr<Normalizer>(std::make_unique<Lowercase>());
  }
  if (type == "Replace") {
    RETURN_IF_ERROR(node.CheckKeys({"pattern", "content"}));
    ASSIGN_OR_RETURN(const JsonNode pattern_node, node.Child("pattern"));
    ASSIGN_OR_RETURN(Pattern pattern, Pattern::Load(pattern_node));
    ASSIGN_OR_RETURN(std::string content, node.String("content"));
    return std::unique_ptr<Normalizer>(
        std::make_unique<Replace>(std::move(pattern), std::move(content)));
  }
  if (type == "Prepend") {
    RETURN_IF_ERROR(node.CheckKeys({"prepend"}));
    ASSIGN_OR_RETURN(std::string prefix, node.String("prepend"));
    return std::unique_ptr<Normalizer>(std::make_unique<Prepend>(std::move(prefix)));
  }
  if (type == "Strip") {
    RETURN_IF_ERROR(node.CheckKeys({"strip_left", "strip_right"}));
    ASSIGN_OR_RETURN(const bool left, node.Bool("strip_left"));
    ASSIGN_OR_RETURN(const bool right, node.Bool("strip_right"));
    return std::unique_ptr<Normalizer>(std::make_unique<Strip>(left, right));
  }
  if (type == "Sequence") {
    RETURN_IF_ERROR(node.CheckKeys({"normalizers"}));
    ASSIGN_OR_RETURN(const JsonNode list, node.Child("normalizers"));
    ASSIGN_OR_RETURN(const size_t size, list.ArraySize());
    std::vector<std::unique_ptr<Normalizer>> items;
    for (size_t i = 0; i < size; ++i) {
      ASSIGN_OR_RETURN(auto item, LoadNormalizer(list.Element(i)));
      items.push_back(std::move(item));
    }
    return std::unique_ptr<Normalizer>(std::make_unique<Sequence>(std::move(items)));
  }
  return node.Error("unknown normalizer type \"" + type + "\"");
}

}  // namespace lightrl::tokenizer
