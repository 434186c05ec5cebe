// The lexer of the Jinja interpreter: template text into tokens, with the whitespace handling of
// the environment transformers renders chat templates in: trim_blocks and lstrip_blocks on,
// keep_trailing_newline off, "-" on either side of a tag stripping the whitespace there.
//
//   - Newlines (\r\n, \r) become \n and one trailing newline of the source is dropped.
//   - trim_blocks: the first newline after a block tag (%}) or a comment (#}) is removed.
//   - lstrip_blocks: spaces and tabs from the start of a line up to a block tag or comment are
//     removed; never before a {{ }}.
//   - {%- / {{- / {#- strip all whitespace before the tag, -%} / -}} / -#} all after it.
//
// Thread-safety: pure function.
#ifndef LIGHTRL_TOKENIZER_JINJA_LEXER_H_
#define LIGHTRL_TOKENIZER_JINJA_LEXER_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl::jinja {

struct Token {
  enum class Kind {
    kText,           // Template text between tags; `text` holds it.
    kVariableBegin,  // {{
    kVariableEnd,    // }}
    kBlockBegin,     // {%
    kBlockEnd,       // %}
    kName,           // An identifier or keyword.
    kString,         // A string literal; `text` holds its value, escapes resolved.
    kInteger,        // `text` holds the digits, underscores removed.
    kFloat,
    kOperator,  // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
    kEnd,       // End of the template.
  };
  Kind kind;
  std::string text;
  int line;
};

// Splits `source` into tokens, ending with kEnd. A syntax error names `name` and the line:
// "chat_template:3: unterminated string".
StatusOr<std::vector<Token>> Lex(std::string_view source, std::string_view name);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_LEXER_H_
