// The syntax tree of a parsed Jinja template: expressions and statements, each with the line it
// starts on (for messages). Built by jinja_parser.h, walked by jinja_interpreter.h; immutable
// once built, so one tree serves many renders at once.
#ifndef LIGHTRL_TOKENIZER_JINJA_AST_H_
#define LIGHTRL_TOKENIZER_JINJA_AST_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<const Expr>;

struct Argument {
  std::string keyword;  // Empty for a positional argument.
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    kLiteral,    // value
    kName,       // name
    kList,       // items
    kTuple,      // items
    kDict,       // items: key, value, key, value, ...
    kAttribute,  // object.name
    kItem,       // object[items[0]]
    kSlice,      // object[items[0]:items[1]:items[2]]; a null item is an omitted bound
    kCall,       // object(arguments)
    kFilter,     // object | name(arguments)
    kTest,       // object is [not] name(arguments)
    kNot,        // not object
    kNegate,     // -object
    kPlus,       // +object
    kBinary,     // object op items[0]: + - * / // % ** ~ and or in "not in"
    kCompare,    // object name items[0]; items[1..] continue the chain (a < b < c), each a
                 // kCompare with its operator in name and its right operand in items[0]
    kCondition,  // items[0] if object else items[1] (items[1] may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // Variable, attribute, filter, test or operator.
  bool negated = false;
  ExprPtr object;
  std::vector<ExprPtr> items;
  std::vector<Argument> arguments;
};

struct Node;
using Body = std::vector<std::unique_ptr<const Node>>;

// A macro parameter (or a call block's caller parameter) and its default.
struct Parameter {
  std::string name;
  ExprPtr default_value;  // Null when required.
};

struct Node {
  enum class Kind {
    kText,       // text
    kOutput,     // {{ expr }}
    kIf,         // branches: conditions[i] -> bodies[i]; else_body
    kFor,        // for targets in expr [if filter]: body; else_body
    kSet,        // set targets = expr; or set target.attribute = expr
    kSetBlock,   // set targets[0] %} body {% endset
    kMacro,      // macro name(parameters): body
    kCallBlock,  // call(parameters) expr: body is the caller
    kBreak,
    kContinue,
  };
  Kind kind;
  int line = 0;
  std::string text;  // kText; the macro's name; the namespace attribute of a kSet.
  ExprPtr expr;      // Output, for iterable, set value, call block's call.
  ExprPtr filter;    // for ... if filter.
  std::vector<std::string> targets;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<Parameter> parameters;
};

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_AST_H_
