#include "tokenizer/jinja_lexer.h"

#include <cctype>
#include <optional>

#include "tokenizer/jinja_text.h"

namespace lightrl::jinja {
namespace {

constexpr std::string_view kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                           "/",  "%",  "~",  "<",  ">",  "=",  "(", ")", "[",
                                           "]",  "{",  "}",  ",",  ".",  ":",  "|"};

// The length of the Unicode whitespace at the start of `text`.
size_t LeadingWhitespace(std::string_view text) {
  return text.size() - Strip(text, std::nullopt, true, false).size();
}

class Lexer {
 public:
  Lexer(std::string source, std::string_view name) : source_(std::move(source)), name_(name) {}

  StatusOr<std::vector<Token>> Run() {
    bool line_starting = true;
    while (pos_ < source_.size()) {
      const size_t start = NextTagStart(pos_);
      std::string text = source_.substr(pos_, start - pos_);
      const int text_line = line_;
      CountLines(pos_, start);
      if (start == source_.size()) {
        Emit(Token::Kind::kText, std::move(text), text_line);
        break;
      }
      const char kind = source_[start + 1];  // '{', '%' or '#'.
      const bool strip_before = start + 2 < source_.size() && source_[start + 2] == '-';
      if (strip_before) {
        text = Strip(text, std::nullopt, false, true);
      } else if (kind != '{') {
        LstripBlock(text, line_starting);
      }
      Emit(Token::Kind::kText, std::move(text), text_line);
      pos_ = start + (strip_before ? 3 : 2);
      if (kind == '#') {
        RETURN_IF_ERROR(SkipComment());
      } else {
        RETURN_IF_ERROR(LexTag(kind == '{'));
      }
      line_starting = pos_ > 0 && source_[pos_ - 1] == '\n';
    }
    tokens_.push_back({Token::Kind::kEnd, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t NextTagStart(size_t from) const {
    for (size_t i = from; i + 1 < source_.size(); ++i) {
      if (source_[i] == '{' &&
          (source_[i + 1] == '{' || source_[i + 1] == '%' || source_[i + 1] == '#')) {
        return i;
      }
    }
    return source_.size();
  }

  // lstrip_blocks: drops the spaces and tabs between the line's start and the tag.
  static void LstripBlock(std::string& text, bool line_starting) {
    const size_t line_start = text.rfind('\n') + 1;  // 0 when there is no newline.
    if (line_start == 0 && !line_starting) return;
    const std::string_view tail = std::string_view(text).substr(line_start);
    if (!tail.empty() && LeadingWhitespace(tail) == tail.size()) text.resize(line_start);
  }

  void Emit(Token::Kind kind, std::string text, int line) {
    if (kind == Token::Kind::kText && text.empty()) return;
    tokens_.push_back({kind, std::move(text), line});
  }

  void CountLines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) line_ += source_[i] == '\n';
  }

  Status Error(const std::string& message) const {
    return InvalidArgumentError(std::string(name_) + ":" + std::to_string(line_) + ": " + message);
  }

  // After a tag: "-" strips all whitespace, trim_blocks one newline after %} and #}.
  void AfterTag(bool strip_after, bool trim) {
    size_t skip = 0;
    if (strip_after) {
      skip = LeadingWhitespace(std::string_view(source_).substr(pos_));
    } else if (trim && pos_ < source_.size() && source_[pos_] == '\n') {
      skip = 1;
    }
    CountLines(pos_, pos_ + skip);
    pos_ += skip;
  }

  Status SkipComment() {
    const size_t end = source_.find("#}", pos_);
    if (end == std::string::npos) return Error("unterminated comment: missing '#}'");
    const bool strip_after = end > pos_ && source_[end - 1] == '-';
    CountLines(pos_, end + 2);
    pos_ = end + 2;
    AfterTag(strip_after, true);
    return Status::Ok();
  }

  Status LexTag(bool variable) {
    const int begin_line = line_;
    Emit(variable ? Token::Kind::kVariableBegin : Token::Kind::kBlockBegin, "", begin_line);
    const std::string_view close = variable ? "}}" : "%}";
    std::string brackets;  // Open ( [ { inside the tag: "}}" closes the tag only outside them.
    while (true) {
      while (pos_ < source_.size() && std::isspace(static_cast<unsigned char>(source_[pos_]))) {
        line_ += source_[pos_++] == '\n';
      }
      if (pos_ >= source_.size()) {
        return Error("unexpected end of template: missing '" + std::string(close) + "'");
      }
      const std::string_view rest = std::string_view(source_).substr(pos_);
      if (brackets.empty() && (rest.starts_with(close) ||
                               (rest.starts_with('-') && rest.substr(1).starts_with(close)))) {
        const bool strip_after = rest[0] == '-';
        Emit(variable ? Token::Kind::kVariableEnd : Token::Kind::kBlockEnd, "", line_);
        pos_ += close.size() + (strip_after ? 1 : 0);
        AfterTag(strip_after, !variable);
        return Status::Ok();
      }
      RETURN_IF_ERROR(LexExpressionToken(brackets));
    }
  }

  Status LexExpressionToken(std::string& brackets) {
    const char c = source_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < source_.size() &&
             (std::isalnum(static_cast<unsigned char>(source_[end])) || source_[end] == '_')) {
        ++end;
      }
      Emit(Token::Kind::kName, source_.substr(pos_, end - pos_), line_);
      pos_ = end;
      return Status::Ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return LexNumber();
    if (c == '\'' || c == '"') return LexString(c);
    for (std::string_view op : kOperators) {
      if (std::string_view(source_).substr(pos_).starts_with(op)) {
        if (op == "(" || op == "[" || op == "{") brackets += op[0];
        if (op == ")" || op == "]" || op == "}") {
          const char open = op == ")" ? '(' : op == "]" ? '[' : '{';
          if (brackets.empty() || brackets.back() != open) {
            return Error("unexpected '" + std::string(op) + "'");
          }
          brackets.pop_back();
        }
        Emit(Token::Kind::kOperator, std::string(op), line_);
        pos_ += op.size();
        return Status::Ok();
      }
    }
    return Error("unexpected character '" + std::string(1, c) + "'");
  }

  // Digits with optional underscores between them, appended to `out`.
  void Digits(std::string& out) {
    while (pos_ < source_.size() &&
           (std::isdigit(static_cast<unsigned char>(source_[pos_])) ||
            (source_[pos_] == '_' && pos_ + 1 < source_.size() &&
             std::isdigit(static_cast<unsigned char>(source_[pos_ + 1]))))) {
      if (source_[pos_] != '_') out += source_[pos_];
      ++pos_;
    }
  }

  Status LexNumber() {
    std::string digits;
    Digits(digits);
    // After "x." a number is an index (x.0.1 is x[0][1]), never a float.
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == Token::Kind::kOperator &&
                           tokens_.back().text == ".";
    bool is_float = false;
    if (!after_dot && pos_ + 1 < source_.size() && source_[pos_] == '.' &&
        std::isdigit(static_cast<unsigned char>(source_[pos_ + 1]))) {
      digits += source_[pos_++];
      Digits(digits);
      is_float = true;
    }
    if (!after_dot && pos_ < source_.size() && (source_[pos_] == 'e' || source_[pos_] == 'E')) {
      size_t look = pos_ + 1;
      if (look < source_.size() && (source_[look] == '+' || source_[look] == '-')) ++look;
      if (look < source_.size() && std::isdigit(static_cast<unsigned char>(source_[look]))) {
        digits += 'e';
        digits.append(source_, pos_ + 1, look - pos_ - 1);
        pos_ = look;
        Digits(digits);
        is_float = true;
      }
    }
    Emit(is_float ? Token::Kind::kFloat : Token::Kind::kInteger, std::move(digits), line_);
    return Status::Ok();
  }

  // A string literal; escapes as Python resolves them in a str literal.
  Status LexString(char quote) {
    const int start_line = line_;
    std::string value;
    ++pos_;
    while (true) {
      if (pos_ >= source_.size()) return Error("unterminated string");
      const char c = source_[pos_++];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\' || pos_ >= source_.size()) {
        value += c;
        continue;
      }
      const char e = source_[pos_++];
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case 'a':
          value += '\a';
          break;
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        case '\n':
          ++line_;
          break;  // A backslash before a newline joins the lines.
        case 'x':
        case 'u':
        case 'U': {
          const size_t width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          const std::string hex = source_.substr(pos_, width);
          if (hex.size() != width ||
              hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            return Error(std::string("truncated \\") + e + " escape in a string");
          }
          value += EncodeCodePoint(static_cast<uint32_t>(std::stoul(hex, nullptr, 16)));
          pos_ += width;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t code = e - '0';
            for (int k = 0;
                 k < 2 && pos_ < source_.size() && source_[pos_] >= '0' && source_[pos_] <= '7';
                 ++k) {
              code = code * 8 + (source_[pos_++] - '0');
            }
            value += EncodeCodePoint(code);
          } else {
            value += '\\';  // An unknown escape stays as written.
            value += e;
          }
      }
    }
    Emit(Token::Kind::kString, std::move(value), start_line);
    return Status::Ok();
  }

  std::string source_;
  std::string_view name_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

// Newlines as \n, and one trailing newline dropped (keep_trailing_newline off).
std::string Normalize(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

StatusOr<std::vector<Token>> Lex(std::string_view source, std::string_view name) {
  return Lexer(Normalize(source), name).Run();
}

}  // namespace lightrl::jinja
