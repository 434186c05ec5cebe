// The interpreter of the Jinja templates: walks a parsed template (jinja_parser.h) with a
// context and writes the text, with Jinja2's semantics:
//
//   - Scopes: a for loop's body gets a fresh scope every iteration (a `set` there is gone after
//     the loop; namespaces carry state out), a macro call its own; `if` blocks share theirs.
//   - loop: index index0 revindex revindex0 first last length depth depth0 previtem nextitem.
//   - Undefined names print as "" and test false; using them further is an error quoting them.
//   - Macros see the scope they were defined in as it is when they are called; a call block
//     passes its body as `caller`.
//
// Every error names the template and the line: "chat_template:7: 'str object' has no attribute
// 'x'". Codes: kFailedPrecondition for the template's own raise_exception, kUnimplemented for a
// construct not supported here, kOutOfRange for an integer overflow, kInvalidArgument otherwise.
//
// Thread-safety: Render only reads the tree; renders of one tree may run at once.
#ifndef LIGHTRL_TOKENIZER_JINJA_INTERPRETER_H_
#define LIGHTRL_TOKENIZER_JINJA_INTERPRETER_H_

#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

// Renders `body` with the variables of `context` (a dict) over the globals of jinja_methods.h.
// `name` prefixes every message.
StatusOr<std::string> Render(const Body& body, const Value& context, std::string_view name);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_INTERPRETER_H_
