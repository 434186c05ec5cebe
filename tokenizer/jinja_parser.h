// The parser of the Jinja interpreter: tokens (jinja_lexer.h) into a syntax tree
// (jinja_ast.h), with Jinja2's grammar and operator precedence.
//
// Statements: if/elif/else, for (else, `if` filter, tuple targets), set (names, tuples,
// namespace attributes, block set), macro, call, break, continue, generation (its body is kept,
// as transformers renders it). Any other statement, a filter or test the interpreter does not
// have, and malformed syntax are errors naming the line: "chat_template:12: filter 'wordwrap'
// is not supported" (kUnimplemented for what is valid Jinja2 but not supported here,
// kInvalidArgument for a syntax error).
//
// Thread-safety: pure function.
#ifndef LIGHTRL_TOKENIZER_JINJA_PARSER_H_
#define LIGHTRL_TOKENIZER_JINJA_PARSER_H_

#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

namespace lightrl::jinja {

StatusOr<Body> Parse(const std::vector<Token>& tokens, std::string_view name);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_PARSER_H_
