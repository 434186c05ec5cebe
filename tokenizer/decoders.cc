#include "tokenizer/decoders.h"

#include <optional>
#include <string_view>
#include <utility>

#include "tokenizer/byte_level.h"
#include "tokenizer/split.h"
#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

class ByteLevel : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      const size_t before = bytes.size();
      bool all_mapped = true;
      for (size_t pos = 0; pos < token.size() && all_mapped;) {
        const std::optional<uint8_t> byte = ByteOfByteLevelChar(NextCodePoint(token, pos));
        if (byte) {
          bytes.push_back(static_cast<char>(*byte));
        } else {
          all_mapped = false;
        }
      }
      if (!all_mapped) {
        bytes.resize(before);
        bytes += token;
      }
    }
    tokens.clear();
    tokens.push_back(ToValidUtf8(bytes));
    return Status::Ok();
  }
};

class Metaspace : public Decoder {
 public:
  Metaspace(std::string replacement, bool drop_first)
      : replacement_(std::move(replacement)), drop_first_(drop_first) {}

  Status DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& token = tokens[i];
      for (size_t pos = token.find(replacement_), from = 0;; pos = token.find(replacement_, from)) {
        out.append(token, from, pos == std::string::npos ? std::string::npos : pos - from);
        if (pos == std::string::npos) break;
        if (i != 0 || !drop_first_) out += ' ';
        from = pos + replacement_.size();
      }
      tokens[i] = std::move(out);
    }
    return Status::Ok();
  }

 private:
  std::string replacement_;
  bool drop_first_;
};

// The byte of a "<0xXX>" token (Rust's u8::from_str_radix on the two characters, which also
// takes "+X"); nullopt for any other token.
std::optional<uint8_t> FallbackByte(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const char high = token[3], low = token[4];
  if (digit(low) < 0) return std::nullopt;
  if (high == '+') return static_cast<uint8_t>(digit(low));
  if (digit(high) < 0) return std::nullopt;
  return static_cast<uint8_t>(digit(high) * 16 + digit(low));
}

class ByteFallback : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    const auto flush = [&] {
      if (bytes.empty()) return;
      if (IsValidUtf8(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back(kReplacementChar);
      }
      bytes.clear();
    };
    for (std::string& token : tokens) {
      if (const std::optional<uint8_t> byte = FallbackByte(token)) {
        bytes.push_back(static_cast<char>(*byte));
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
    return Status::Ok();
  }
};

class Fuse : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.clear();
    tokens.push_back(std::move(joined));
    return Status::Ok();
  }
};

class Strip : public Decoder {
 public:
  Strip(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}

  Status DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      size_t begin = 0, end = token.size();
      for (size_t n = 0; n < start_ && begin < end; ++n) {
        size_t next = begin;
        if (NextCodePoint(token, next) != content_) break;
        begin = next;
      }
      for (size_t n = 0; n < stop_ && end > begin; ++n) {
        size_t previous = end;
        if (PreviousCodePoint(token, previous) != content_) break;
        end = previous;
      }
      token = token.substr(begin, end - begin);
    }
    return Status::Ok();
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class Replace : public Decoder {
 public:
  Replace(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  Status DecodeChain(std::vector<std::string>& tokens) const override {
    std::string out;
    for (std::string& token : tokens) {
      RETURN_IF_ERROR(pattern_.Replace(token, content_, out));
      token.swap(out);
    }
    return Status::Ok();
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> items) : items_(std::move(items)) {}

  Status DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& item : items_) RETURN_IF_ERROR(item->DecodeChain(tokens));
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> items_;
};

// The one character of a string member (Rust's `char`).
StatusOr<char32_t> SingleChar(const JsonNode& node, std::string_view key) {
  ASSIGN_OR_RETURN(const JsonNode child, node.Child(key));
  ASSIGN_OR_RETURN(const std::string text, child.AsString());
  size_t end = 0;
  if (text.empty() || !IsValidUtf8(text)) return child.Error("expected a single character");
  const char32_t c = NextCodePoint(text, end);
  if (end != text.size()) return child.Error("expected a single character");
  return c;
}

StatusOr<size_t> Count(const JsonNode& node, std::string_view key) {
  ASSIGN_OR_RETURN(const int64_t value, node.Int(key));
  if (value < 0) return node.Error(std::string(key) + " must not be negative");
  return static_cast<size_t>(value);
}

}  // namespace

StatusOr<std::unique_ptr<Decoder>> LoadDecoder(const JsonNode& node) {
  RETURN_IF_ERROR(node.ExpectObject());
  ASSIGN_OR_RETURN(const std::string type, node.Type());
  if (type == "ByteLevel") {
    RETURN_IF_ERROR(node.CheckKeys({"add_prefix_space", "trim_offsets", "use_regex"}));
    return std::unique_ptr<Decoder>(std::make_unique<ByteLevel>());
  }
  if (type == "Metaspace") {
    RETURN_IF_ERROR(
        node.CheckKeys({"replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"}));
    ASSIGN_OR_RETURN(const char32_t replacement, SingleChar(node, "replacement"));
    ASSIGN_OR_RETURN(const std::string scheme, node.OptionalString("prepend_scheme", "always"));
    if (scheme != "always" && scheme != "never" && scheme != "first") {
      return node.Error("unknown prepend_scheme \"" + scheme + "\"");
    }
    ASSIGN_OR_RETURN(const bool add_prefix_space, node.OptionalBool("add_prefix_space", true));
    if (!add_prefix_space && scheme != "never") {
      return node.Error("add_prefix_space does not match declared prepend_scheme");
    }
    std::string text;
    AppendUtf8(replacement, text);
    return std::unique_ptr<Decoder>(
        std::make_unique<Metaspace>(std::move(text), scheme != "never"));
  }
  if (type == "ByteFallback" || type == "Fuse") {
    RETURN_IF_ERROR(node.CheckKeys({}));
    if (type == "Fuse") return std::unique_ptr<Decoder>(std::make_unique<Fuse>());
    return std::unique_ptr<Decoder>(std::make_unique<ByteFallback>());
  }
  if (type == "Strip") {
    RETURN_IF_ERROR(node.CheckKeys({"content", "start", "stop"}));
    ASSIGN_OR_RETURN(const char32_t content, SingleChar(node, "content"));
    ASSIGN_OR_RETURN(const size_t start, Count(node, "start"));
    ASSIGN_OR_RETURN(const size_t stop, Count(node, "stop"));
    return std::unique_ptr<Decoder>(std::make_unique<Strip>(content, start, stop));
  }
  if (type == "Replace") {
    RETURN_IF_ERROR(node.CheckKeys({"pattern", "content"}));
    ASSIGN_OR_RETURN(const JsonNode pattern_node, node.Child("pattern"));
    ASSIGN_OR_RETURN(Pattern pattern, Pattern::Load(pattern_node));
    ASSIGN_OR_RETURN(std::string content, node.String("content"));
    return std::unique_ptr<Decoder>(
        std::make_unique<Replace>(std::move(pattern), std::move(content)));
  }
  if (type == "Sequence") {
    RETURN_IF_ERROR(node.CheckKeys({"decoders"}));
    ASSIGN_OR_RETURN(const JsonNode list, node.Child("decoders"));
    ASSIGN_OR_RETURN(const size_t size, list.ArraySize());
    std::vector<std::unique_ptr<Decoder>> items;
    for (size_t i = 0; i < size; ++i) {
      ASSIGN_OR_RETURN(auto item, LoadDecoder(list.Element(i)));
      items.push_back(std::move(item));
    }
    return std::unique_ptr<Decoder>(std::make_unique<Sequence>(std::move(items)));
  }
  return node.Error("unknown decoder type \"" + type + "\"");
}

}  // namespace lightrl::tokenizer
