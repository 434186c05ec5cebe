#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>
#include <utility>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {
namespace {

// Oniguruma's classes, spelled for PCRE2 (the members, to go inside [...]).
constexpr std::string_view kSpace = "\\s\\x{85}";
constexpr std::string_view kWord = "\\p{L}\\p{M}\\p{N}\\p{Pc}";
constexpr std::string_view kHex = "0-9a-fA-F";

std::string Class(std::string_view members, bool negated) {
  return std::string(negated ? "[^" : "[") + std::string(members) + "]";
}

Status Unsupported(std::string_view what, size_t offset) {
  return InvalidArgumentError("regex: " + std::string(what) + " at offset " +
                              std::to_string(offset) + " has no PCRE2 translation");
}

// Translates the escape at pattern[i] == '\\'; advances i past it.
Status TranslateEscape(std::string_view pattern, size_t& i, bool in_class, std::string& out) {
  if (i + 1 >= pattern.size()) return InvalidArgumentError("regex: pattern ends with a backslash");
  const char c = pattern[i + 1];
  const size_t at = i;
  i += 2;
  const std::string word_class = Class(kWord, false);
  switch (c) {
    case 's':
    case 'S':
    case 'w':
    case 'W':
    case 'h':
    case 'H': {
      const bool negated = std::isupper(static_cast<unsigned char>(c));
      const std::string_view members = c == 's' || c == 'S'   ? kSpace
                                       : c == 'w' || c == 'W' ? kWord
                                                              : kHex;
      if (!in_class) {
        out += Class(members, negated);
      } else if (negated) {
        return Unsupported(std::string("\\") + c + " inside a character class", at);
      } else {
        out += members;
      }
      return Status::Ok();
    }
    case 'b':
    case 'B':
      if (in_class) {  // A backspace in both engines.
        out += "\\b";
      } else if (c == 'b') {
        out += "(?:(?<=" + word_class + ")(?!" + word_class + ")|(?<!" + word_class +
               ")(?=" + word_class + "))";
      } else {
        out += "(?:(?<=" + word_class + ")(?=" + word_class + ")|(?<!" + word_class + ")(?!" +
               word_class + "))";
      }
      return Status::Ok();
    case 'v':
      out += "\\x{0B}";
      return Status::Ok();
    case 'u': {
      if (i + 4 > pattern.size()) return Unsupported("a \\u escape without four hex digits", at);
      for (size_t k = 0; k < 4; ++k) {
        if (!std::isxdigit(static_cast<unsigned char>(pattern[i + k]))) {
          return Unsupported("a \\u escape without four hex digits", at);
        }
      }
      out += "\\x{" + std::string(pattern.substr(i, 4)) + "}";
      i += 4;
      return Status::Ok();
    }
    case 'y':
    case 'Y':
      return Unsupported(std::string("\\") + c, at);
    default:
      out += pattern.substr(at, 2);
      return Status::Ok();
  }
}

// Translates an inline option group "(?imx-imx)" or "(?imx-imx:" at pattern[i]; advances i past
// the options. Oniguruma's Ruby syntax spells dot-all "m", PCRE2 spells it "s".
Status TranslateOptions(std::string_view pattern, size_t& i, std::string& out) {
  const size_t at = i;
  out += "(?";
  i += 2;
  while (i < pattern.size() && pattern[i] != ')' && pattern[i] != ':') {
    const char c = pattern[i];
    if (c == 'i' || c == 'x' || c == '-') {
      out += c;
    } else if (c == 'm') {
      out += 's';
    } else {
      return Unsupported(std::string("the inline option '") + c + "'", at);
    }
    ++i;
  }
  return Status::Ok();
}

bool StartsOptions(std::string_view pattern, size_t i) {
  if (i + 2 >= pattern.size() || pattern[i] != '(' || pattern[i + 1] != '?') return false;
  for (size_t k = i + 2; k < pattern.size(); ++k) {
    const char c = pattern[k];
    if (c == ')' || c == ':') return k > i + 2;
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return false;
}

}  // namespace

StatusOr<std::string> OnigurumaToPcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 2);
  bool in_class = false;
  size_t class_start = 0;  // Where the members of the open class begin.
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      RETURN_IF_ERROR(TranslateEscape(pattern, i, in_class, out));
      continue;
    }
    if (in_class) {
      if (c == '[') {
        const size_t close = pattern.find(":]", i);
        if (i + 1 < pattern.size() && pattern[i + 1] == ':' && close != std::string_view::npos) {
          out += pattern.substr(i, close + 2 - i);  // A POSIX class such as [:alpha:].
          i = close + 2;
          continue;
        }
        return Unsupported("a nested character class", i);
      }
      if (c == '&' && i + 1 < pattern.size() && pattern[i + 1] == '&') {
        return Unsupported("a class intersection (&&)", i);
      }
      if (c == ']' && i > class_start) in_class = false;
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < pattern.size() && pattern[i] == '^') {
        out += '^';
        ++i;
      }
      class_start = i;
      continue;
    }
    if (StartsOptions(pattern, i)) {
      RETURN_IF_ERROR(TranslateOptions(pattern, i, out));
      continue;
    }
    out += c;
    ++i;
  }
  if (in_class) return InvalidArgumentError("regex: unterminated character class");
  return out;
}

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Each thread's match data (the whole match is all FindAll needs) and JIT stack.
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(size_t{32} << 10, size_t{8} << 20, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& MatchState() {
  thread_local ThreadMatchState state;
  return state;
}

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Regex::Regex(std::string pattern, std::shared_ptr<const Code> code)
    : pattern_(std::move(pattern)), code_(std::move(code)) {}

StatusOr<Regex> Regex::FromOniguruma(std::string_view pattern) {
  auto translated = OnigurumaToPcre2(pattern);
  if (!translated.ok()) {
    return InvalidArgumentError("pattern \"" + std::string(pattern) +
                                "\": " + std::string(translated.status().message()));
  }
  ASSIGN_OR_RETURN(Regex regex, FromPcre2(*translated));
  regex.pattern_ = std::string(pattern);
  return regex;
}

StatusOr<Regex> Regex::FromPcre2(std::string_view pattern) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int error = 0;
  PCRE2_SIZE offset = 0;
  auto code = std::make_shared<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (code->code == nullptr) {
    return InvalidArgumentError("pattern \"" + std::string(pattern) + "\": PCRE2: " +
                                Pcre2Message(error) + " at offset " + std::to_string(offset));
  }
  // Without JIT (an unsupported CPU) PCRE2 interprets the same pattern: slower, same matches.
  pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE);
  return Regex(std::string(pattern), std::move(code));
}

StatusOr<bool> Regex::MatchFrom(std::string_view text, size_t start, size_t& begin,
                                size_t& end) const {
  ThreadMatchState& state = MatchState();
  const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             start, PCRE2_NO_UTF_CHECK, state.data, state.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    return ResourceExhaustedError("regex \"" + pattern_ + "\": PCRE2: " + Pcre2Message(rc));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

Status Regex::FindAll(std::string_view text, FunctionRef<Status(size_t, size_t)> on_match) const {
  size_t search = 0;
  bool matched_before = false;
  size_t last_match_end = 0;
  while (search <= text.size()) {
    size_t begin = 0, end = 0;
    ASSIGN_OR_RETURN(const bool found, MatchFrom(text, search, begin, end));
    if (!found) break;
    if (begin == end && matched_before && last_match_end == search) {
      search += search < text.size() ? Utf8Length(static_cast<unsigned char>(text[search])) : 1;
      continue;
    }
    search = end;
    matched_before = true;
    last_match_end = end;
    RETURN_IF_ERROR(on_match(begin, end));
  }
  return Status::Ok();
}

StatusOr<bool> Regex::Search(std::string_view text) const {
  size_t begin = 0, end = 0;
  return MatchFrom(text, 0, begin, end);
}

}  // namespace lightrl::tokenizer
