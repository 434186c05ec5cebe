#include "tokenizer/jinja_parser.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "tokenizer/jinja_filters.h"

namespace lightrl::jinja {
namespace {

constexpr std::string_view kCompareOperators[] = {"==", "!=", "<", "<=", ">", ">="};

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string_view name) : tokens_(tokens), name_(name) {}

  StatusOr<Body> Run() {
    std::string end;
    ASSIGN_OR_RETURN(Body body, ParseBody({}, &end));
    return body;
  }

 private:
  // ----- Token stream.

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool IsOperator(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kOperator && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kName && Peek(ahead).text == name;
  }
  bool SkipOperator(std::string_view op) {
    if (!IsOperator(op)) return false;
    ++pos_;
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    ++pos_;
    return true;
  }

  static std::string Describe(const Token& token) {
    switch (token.kind) {
      case Token::Kind::kEnd:
        return "end of template";
      case Token::Kind::kBlockEnd:
        return "'%}'";
      case Token::Kind::kVariableEnd:
        return "'}}'";
      case Token::Kind::kText:
        return "template text";
      case Token::Kind::kString:
        return "a string";
      default:
        return "'" + token.text + "'";
    }
  }

  Status Error(int line, const std::string& message) const {
    return InvalidArgumentError(std::string(name_) + ":" + std::to_string(line) + ": " + message);
  }
  Status Unsupported(int line, const std::string& what) const {
    return UnimplementedError(std::string(name_) + ":" + std::to_string(line) + ": " + what +
                              " is not supported");
  }
  Status Unexpected(const std::string& wanted) const {
    return Error(Peek().line, "expected " + wanted + ", got " + Describe(Peek()));
  }
  Status ExpectOperator(std::string_view op) {
    return SkipOperator(op) ? Status::Ok() : Unexpected("'" + std::string(op) + "'");
  }
  StatusOr<std::string> ExpectName() {
    if (Peek().kind != Token::Kind::kName) return Unexpected("a name");
    return Next().text;
  }
  Status ExpectBlockEnd() {
    if (Peek().kind != Token::Kind::kBlockEnd) return Unexpected("'%}'");
    ++pos_;
    return Status::Ok();
  }

  static std::unique_ptr<Expr> Make(Expr::Kind kind, int line, ExprPtr object = nullptr) {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->line = line;
    expr->object = std::move(object);
    return expr;
  }

  // ----- Statements.

  // Parses nodes up to a block tag named in `ends` (or the end of the template when `ends` is
  // empty), and consumes that tag's name, storing it in `end`.
  StatusOr<Body> ParseBody(std::initializer_list<std::string_view> ends, std::string* end) {
    Body body;
    while (true) {
      const Token& token = Peek();
      switch (token.kind) {
        case Token::Kind::kEnd:
          if (ends.size() == 0) return body;
          return Error(token.line, "unexpected end of template: missing '{% " +
                                       std::string(*(ends.end() - 1)) + " %}'");
        case Token::Kind::kText: {
          auto node = std::make_unique<Node>();
          node->kind = Node::Kind::kText;
          node->line = token.line;
          node->text = Next().text;
          body.push_back(std::move(node));
          break;
        }
        case Token::Kind::kVariableBegin: {
          const int line = Next().line;
          auto node = std::make_unique<Node>();
          node->kind = Node::Kind::kOutput;
          node->line = line;
          ASSIGN_OR_RETURN(node->expr, ParseTuple(true));
          if (Peek().kind != Token::Kind::kVariableEnd) return Unexpected("'}}'");
          ++pos_;
          body.push_back(std::move(node));
          break;
        }
        case Token::Kind::kBlockBegin: {
          const Token& keyword = Peek(1);
          for (std::string_view candidate : ends) {
            if (keyword.kind == Token::Kind::kName && keyword.text == candidate) {
              pos_ += 2;
              *end = keyword.text;
              return body;
            }
          }
          ++pos_;
          RETURN_IF_ERROR(ParseStatement(body));
          break;
        }
        default:
          return Error(token.line, "unexpected " + Describe(token));
      }
    }
  }

  Status ParseStatement(Body& body) {
    const int line = Peek().line;
    ASSIGN_OR_RETURN(std::string keyword, ExpectName());
    auto node = std::make_unique<Node>();
    node->line = line;
    if (keyword == "if") {
      RETURN_IF_ERROR(ParseIf(*node));
    } else if (keyword == "for") {
      RETURN_IF_ERROR(ParseFor(*node));
    } else if (keyword == "set") {
      RETURN_IF_ERROR(ParseSet(*node));
    } else if (keyword == "macro") {
      RETURN_IF_ERROR(ParseMacro(*node));
    } else if (keyword == "call") {
      RETURN_IF_ERROR(ParseCallBlock(*node));
    } else if (keyword == "break" || keyword == "continue") {
      if (loop_depth_ == 0) return Error(line, "'" + keyword + "' outside of a loop");
      node->kind = keyword == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (keyword == "generation") {
      // transformers' {% generation %} marks assistant text for its token mask; the text itself
      // renders as if the tags were not there.
      RETURN_IF_ERROR(ExpectBlockEnd());
      std::string end;
      ASSIGN_OR_RETURN(Body inner, ParseBody({"endgeneration"}, &end));
      RETURN_IF_ERROR(ExpectBlockEnd());
      for (auto& child : inner) body.push_back(std::move(child));
      return Status::Ok();
    } else if (keyword.starts_with("end") || keyword == "elif" || keyword == "else") {
      return Error(line, "unexpected '{% " + keyword + " %}'");
    } else {
      return Unsupported(line, "statement '" + keyword + "'");
    }
    body.push_back(std::move(node));
    return Status::Ok();
  }

  Status ParseIf(Node& node) {
    node.kind = Node::Kind::kIf;
    std::string end = "elif";
    while (end == "elif") {
      ASSIGN_OR_RETURN(ExprPtr condition, ParseExpression());
      RETURN_IF_ERROR(ExpectBlockEnd());
      ASSIGN_OR_RETURN(Body body, ParseBody({"elif", "else", "endif"}, &end));
      node.conditions.push_back(std::move(condition));
      node.bodies.push_back(std::move(body));
    }
    if (end == "else") {
      RETURN_IF_ERROR(ExpectBlockEnd());
      ASSIGN_OR_RETURN(node.else_body, ParseBody({"endif"}, &end));
    }
    return ExpectBlockEnd();
  }

  StatusOr<std::vector<std::string>> ParseTargets() {
    std::vector<std::string> targets;
    const bool parenthesized = SkipOperator("(");
    do {
      ASSIGN_OR_RETURN(std::string target, ExpectName());
      targets.push_back(std::move(target));
    } while (SkipOperator(","));
    if (parenthesized) RETURN_IF_ERROR(ExpectOperator(")"));
    return targets;
  }

  Status ParseFor(Node& node) {
    node.kind = Node::Kind::kFor;
    ASSIGN_OR_RETURN(node.targets, ParseTargets());
    if (!SkipName("in")) return Unexpected("'in'");
    ASSIGN_OR_RETURN(node.expr, ParseTuple(false));
    if (SkipName("if")) {
      ASSIGN_OR_RETURN(node.filter, ParseExpression());
    }
    if (IsName("recursive")) return Unsupported(Peek().line, "a recursive for loop");
    RETURN_IF_ERROR(ExpectBlockEnd());
    ++loop_depth_;
    std::string end;
    ASSIGN_OR_RETURN(node.body, ParseBody({"else", "endfor"}, &end));
    --loop_depth_;
    if (end == "else") {
      RETURN_IF_ERROR(ExpectBlockEnd());
      ASSIGN_OR_RETURN(node.else_body, ParseBody({"endfor"}, &end));
    }
    return ExpectBlockEnd();
  }

  Status ParseSet(Node& node) {
    node.kind = Node::Kind::kSet;
    if (Peek().kind == Token::Kind::kName && IsOperator(".", 1)) {
      node.targets.push_back(Next().text);
      ++pos_;
      ASSIGN_OR_RETURN(node.text, ExpectName());
    } else {
      ASSIGN_OR_RETURN(node.targets, ParseTargets());
    }
    if (SkipOperator("=")) {
      ASSIGN_OR_RETURN(node.expr, ParseTuple(true));
      return ExpectBlockEnd();
    }
    if (!node.text.empty() || node.targets.size() != 1) return Unexpected("'='");
    if (IsOperator("|")) return Unsupported(Peek().line, "a filter on a block set");
    node.kind = Node::Kind::kSetBlock;
    RETURN_IF_ERROR(ExpectBlockEnd());
    std::string end;
    ASSIGN_OR_RETURN(node.body, ParseBody({"endset"}, &end));
    return ExpectBlockEnd();
  }

  // "(a, b=default, ...)"; the parentheses are required.
  StatusOr<std::vector<Parameter>> ParseParameters() {
    std::vector<Parameter> parameters;
    RETURN_IF_ERROR(ExpectOperator("("));
    while (!SkipOperator(")")) {
      if (!parameters.empty()) RETURN_IF_ERROR(ExpectOperator(","));
      Parameter parameter;
      ASSIGN_OR_RETURN(parameter.name, ExpectName());
      if (SkipOperator("=")) {
        ASSIGN_OR_RETURN(parameter.default_value, ParseExpression());
      }
      parameters.push_back(std::move(parameter));
    }
    return parameters;
  }

  Status ParseMacro(Node& node) {
    node.kind = Node::Kind::kMacro;
    ASSIGN_OR_RETURN(node.text, ExpectName());
    ASSIGN_OR_RETURN(node.parameters, ParseParameters());
    RETURN_IF_ERROR(ExpectBlockEnd());
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;  // A loop around the definition is not the body's loop.
    std::string end;
    ASSIGN_OR_RETURN(node.body, ParseBody({"endmacro"}, &end));
    loop_depth_ = saved_depth;
    if (Peek().kind == Token::Kind::kName) ++pos_;  // {% endmacro name %}
    return ExpectBlockEnd();
  }

  Status ParseCallBlock(Node& node) {
    node.kind = Node::Kind::kCallBlock;
    if (IsOperator("(")) {
      ASSIGN_OR_RETURN(node.parameters, ParseParameters());
    }
    ASSIGN_OR_RETURN(node.expr, ParseExpression());
    if (node.expr->kind != Expr::Kind::kCall) return Error(node.line, "expected a macro call");
    RETURN_IF_ERROR(ExpectBlockEnd());
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    ASSIGN_OR_RETURN(node.body, ParseBody({"endcall"}, &end));
    loop_depth_ = saved_depth;
    return ExpectBlockEnd();
  }

  // ----- Expressions, loosest binding first.

  // An expression, or several separated by commas (a tuple without parentheses).
  StatusOr<ExprPtr> ParseTuple(bool with_condition) {
    const int line = Peek().line;
    ASSIGN_OR_RETURN(ExprPtr first, with_condition ? ParseExpression() : ParseOr());
    if (!IsOperator(",")) return first;
    auto tuple = Make(Expr::Kind::kTuple, line);
    tuple->items.push_back(std::move(first));
    while (SkipOperator(",")) {
      if (Peek().kind == Token::Kind::kBlockEnd || Peek().kind == Token::Kind::kVariableEnd) break;
      ASSIGN_OR_RETURN(ExprPtr item, with_condition ? ParseExpression() : ParseOr());
      tuple->items.push_back(std::move(item));
    }
    return ExprPtr(std::move(tuple));
  }

  // a if condition else b, right-associative; the else part is optional.
  StatusOr<ExprPtr> ParseExpression() {
    ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
    while (IsName("if")) {
      auto condition = Make(Expr::Kind::kCondition, Next().line);
      ASSIGN_OR_RETURN(condition->object, ParseOr());
      condition->items.push_back(std::move(expr));
      if (SkipName("else")) {
        ASSIGN_OR_RETURN(ExprPtr otherwise, ParseExpression());
        condition->items.push_back(std::move(otherwise));
      } else {
        condition->items.push_back(nullptr);
      }
      expr = std::move(condition);
    }
    return expr;
  }

  StatusOr<ExprPtr> Binary(std::string op, int line, ExprPtr left, ExprPtr right) {
    auto expr = Make(Expr::Kind::kBinary, line, std::move(left));
    expr->name = std::move(op);
    expr->items.push_back(std::move(right));
    return ExprPtr(std::move(expr));
  }

  StatusOr<ExprPtr> ParseOr() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      const int line = Next().line;
      ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      ASSIGN_OR_RETURN(left, Binary("or", line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseAnd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      const int line = Next().line;
      ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      ASSIGN_OR_RETURN(left, Binary("and", line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      const int line = Next().line;
      ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      return ExprPtr(Make(Expr::Kind::kNot, line, std::move(operand)));
    }
    return ParseCompare();
  }

  StatusOr<ExprPtr> ParseCompare() {
    const int line = Peek().line;
    ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    std::unique_ptr<Expr> compare;
    while (true) {
      std::string op;
      if (Peek().kind == Token::Kind::kOperator &&
          std::find(std::begin(kCompareOperators), std::end(kCompareOperators), Peek().text) !=
              std::end(kCompareOperators)) {
        op = Next().text;
      } else if (SkipName("in")) {
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        break;
      }
      ASSIGN_OR_RETURN(ExprPtr right, ParseMath1());
      if (!compare) {
        compare = Make(Expr::Kind::kCompare, line, std::move(first));
        compare->name = op;
        compare->items.push_back(std::move(right));
      } else {
        // a < b < c: each later comparison is kept as (op, operand) pairs after the first.
        auto link = Make(Expr::Kind::kCompare, line);
        link->name = op;
        link->items.push_back(std::move(right));
        compare->items.push_back(std::move(link));
      }
    }
    if (!compare) return first;
    return ExprPtr(std::move(compare));
  }

  StatusOr<ExprPtr> ParseMath1() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (IsOperator("+") || IsOperator("-")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      ASSIGN_OR_RETURN(left, Binary(op.text, op.line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseConcat() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
    while (IsOperator("~")) {
      const int line = Next().line;
      ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
      ASSIGN_OR_RETURN(left, Binary("~", line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseMath2() {
    ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
    while (IsOperator("*") || IsOperator("/") || IsOperator("//") || IsOperator("%")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
      ASSIGN_OR_RETURN(left, Binary(op.text, op.line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParsePow() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
    while (IsOperator("**")) {
      const int line = Next().line;
      ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
      ASSIGN_OR_RETURN(left, Binary("**", line, std::move(left), std::move(right)));
    }
    return left;
  }

  StatusOr<ExprPtr> ParseUnary(bool with_filters) {
    ExprPtr expr;
    if (IsOperator("-") || IsOperator("+")) {
      const Token& op = Next();
      ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      expr = Make(op.text == "-" ? Expr::Kind::kNegate : Expr::Kind::kPlus, op.line,
                  std::move(operand));
    } else {
      ASSIGN_OR_RETURN(expr, ParsePrimary());
    }
    ASSIGN_OR_RETURN(expr, ParsePostfix(std::move(expr)));
    if (!with_filters) return expr;
    while (true) {
      if (IsOperator("|")) {
        ASSIGN_OR_RETURN(expr, ParseFilter(std::move(expr)));
      } else if (IsName("is")) {
        ASSIGN_OR_RETURN(expr, ParseTest(std::move(expr)));
      } else if (IsOperator("(")) {
        ASSIGN_OR_RETURN(expr, ParseCall(std::move(expr)));
      } else {
        return expr;
      }
    }
  }

  StatusOr<ExprPtr> ParsePrimary() {
    const Token& token = Peek();
    switch (token.kind) {
      case Token::Kind::kName: {
        ++pos_;
        auto expr = Make(Expr::Kind::kLiteral, token.line);
        if (token.text == "true" || token.text == "True") {
          expr->value = Value::Bool(true);
        } else if (token.text == "false" || token.text == "False") {
          expr->value = Value::Bool(false);
        } else if (token.text == "none" || token.text == "None") {
          expr->value = Value::None();
        } else {
          expr->kind = Expr::Kind::kName;
          expr->name = token.text;
        }
        return ExprPtr(std::move(expr));
      }
      case Token::Kind::kString: {
        std::string text;
        while (Peek().kind == Token::Kind::kString) text += Next().text;  // 'a' 'b' is 'ab'.
        auto expr = Make(Expr::Kind::kLiteral, token.line);
        expr->value = Value::String(std::move(text));
        return ExprPtr(std::move(expr));
      }
      case Token::Kind::kInteger:
      case Token::Kind::kFloat: {
        ++pos_;
        auto expr = Make(Expr::Kind::kLiteral, token.line);
        errno = 0;
        if (token.kind == Token::Kind::kInteger) {
          const long long value = std::strtoll(token.text.c_str(), nullptr, 10);
          if (errno == ERANGE) return Unsupported(token.line, "an integer beyond 64 bits");
          expr->value = Value::Int(value);
        } else {
          expr->value = Value::Float(std::strtod(token.text.c_str(), nullptr));
        }
        return ExprPtr(std::move(expr));
      }
      case Token::Kind::kOperator:
        if (token.text == "(") return ParseParenthesized();
        if (token.text == "[") return ParseList();
        if (token.text == "{") return ParseDict();
        [[fallthrough]];
      default:
        return Error(token.line, "unexpected " + Describe(token));
    }
  }

  StatusOr<ExprPtr> ParseParenthesized() {
    const int line = Next().line;
    if (SkipOperator(")")) return ExprPtr(Make(Expr::Kind::kTuple, line));
    ASSIGN_OR_RETURN(ExprPtr first, ParseExpression());
    if (SkipOperator(")")) return first;
    auto tuple = Make(Expr::Kind::kTuple, line);
    tuple->items.push_back(std::move(first));
    while (SkipOperator(",")) {
      if (IsOperator(")")) break;
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpression());
      tuple->items.push_back(std::move(item));
    }
    RETURN_IF_ERROR(ExpectOperator(")"));
    return ExprPtr(std::move(tuple));
  }

  StatusOr<ExprPtr> ParseList() {
    auto list = Make(Expr::Kind::kList, Next().line);
    while (!SkipOperator("]")) {
      if (!list->items.empty()) RETURN_IF_ERROR(ExpectOperator(","));
      if (SkipOperator("]")) break;  // A trailing comma.
      ASSIGN_OR_RETURN(ExprPtr item, ParseExpression());
      list->items.push_back(std::move(item));
    }
    return ExprPtr(std::move(list));
  }

  StatusOr<ExprPtr> ParseDict() {
    auto dict = Make(Expr::Kind::kDict, Next().line);
    while (!SkipOperator("}")) {
      if (!dict->items.empty()) RETURN_IF_ERROR(ExpectOperator(","));
      if (SkipOperator("}")) break;
      ASSIGN_OR_RETURN(ExprPtr key, ParseExpression());
      RETURN_IF_ERROR(ExpectOperator(":"));
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
      dict->items.push_back(std::move(key));
      dict->items.push_back(std::move(value));
    }
    return ExprPtr(std::move(dict));
  }

  StatusOr<ExprPtr> ParsePostfix(ExprPtr expr) {
    while (true) {
      if (IsOperator(".")) {
        const int line = Next().line;
        const Token& token = Next();
        if (token.kind == Token::Kind::kName) {
          auto attribute = Make(Expr::Kind::kAttribute, line, std::move(expr));
          attribute->name = token.text;
          expr = std::move(attribute);
        } else if (token.kind == Token::Kind::kInteger) {
          auto item = Make(Expr::Kind::kItem, line, std::move(expr));
          auto index = Make(Expr::Kind::kLiteral, line);
          index->value = Value::Int(std::strtoll(token.text.c_str(), nullptr, 10));
          item->items.push_back(std::move(index));
          expr = std::move(item);
        } else {
          return Error(token.line, "expected an attribute name after '.'");
        }
      } else if (IsOperator("[")) {
        ASSIGN_OR_RETURN(expr, ParseSubscript(std::move(expr)));
      } else if (IsOperator("(")) {
        ASSIGN_OR_RETURN(expr, ParseCall(std::move(expr)));
      } else {
        return expr;
      }
    }
  }

  StatusOr<ExprPtr> ParseSubscript(ExprPtr object) {
    const int line = Next().line;
    std::vector<ExprPtr> parts(1);
    bool slice = false;
    while (!SkipOperator("]")) {
      if (SkipOperator(":")) {
        slice = true;
        if (parts.size() == 3) return Error(line, "too many ':' in a slice");
        parts.emplace_back();
        continue;
      }
      if (parts.back()) return Unexpected("']'");
      ASSIGN_OR_RETURN(parts.back(), ParseExpression());
    }
    if (!slice) {
      if (!parts[0]) return Error(line, "expected an index");
      auto item = Make(Expr::Kind::kItem, line, std::move(object));
      item->items.push_back(std::move(parts[0]));
      return ExprPtr(std::move(item));
    }
    parts.resize(3);
    auto expr = Make(Expr::Kind::kSlice, line, std::move(object));
    expr->items = std::move(parts);
    return ExprPtr(std::move(expr));
  }

  // "(a, b, key=c)" into `arguments`.
  Status ParseArguments(std::vector<Argument>& arguments) {
    RETURN_IF_ERROR(ExpectOperator("("));
    while (!SkipOperator(")")) {
      if (!arguments.empty()) {
        RETURN_IF_ERROR(ExpectOperator(","));
        if (SkipOperator(")")) break;
      }
      if (IsOperator("*") || IsOperator("**")) return Unsupported(Peek().line, "'*' arguments");
      Argument argument;
      if (Peek().kind == Token::Kind::kName && IsOperator("=", 1)) {
        argument.keyword = Next().text;
        ++pos_;
      }
      ASSIGN_OR_RETURN(argument.value, ParseExpression());
      arguments.push_back(std::move(argument));
    }
    return Status::Ok();
  }

  StatusOr<ExprPtr> ParseCall(ExprPtr callee) {
    auto call = Make(Expr::Kind::kCall, Peek().line, std::move(callee));
    RETURN_IF_ERROR(ParseArguments(call->arguments));
    return ExprPtr(std::move(call));
  }

  // A filter or test name, with dots ("a.b") as Jinja2 allows.
  StatusOr<std::string> ParseDottedName() {
    ASSIGN_OR_RETURN(std::string name, ExpectName());
    while (IsOperator(".") && Peek(1).kind == Token::Kind::kName) {
      name += "." + Peek(1).text;
      pos_ += 2;
    }
    return name;
  }

  StatusOr<ExprPtr> ParseFilter(ExprPtr object) {
    const int line = Next().line;
    auto filter = Make(Expr::Kind::kFilter, line, std::move(object));
    ASSIGN_OR_RETURN(filter->name, ParseDottedName());
    if (!HasFilter(filter->name)) return Unsupported(line, "filter '" + filter->name + "'");
    if (IsOperator("(")) RETURN_IF_ERROR(ParseArguments(filter->arguments));
    return ExprPtr(std::move(filter));
  }

  StatusOr<ExprPtr> ParseTest(ExprPtr object) {
    const int line = Next().line;
    auto test = Make(Expr::Kind::kTest, line, std::move(object));
    test->negated = SkipName("not");
    ASSIGN_OR_RETURN(test->name, ParseDottedName());
    if (!HasTest(test->name)) return Unsupported(line, "test '" + test->name + "'");
    const Token& next = Peek();
    if (IsOperator("(")) {
      RETURN_IF_ERROR(ParseArguments(test->arguments));
    } else if ((next.kind == Token::Kind::kName && next.text != "else" && next.text != "or" &&
                next.text != "and" && next.text != "if") ||
               next.kind == Token::Kind::kString || next.kind == Token::Kind::kInteger ||
               next.kind == Token::Kind::kFloat || IsOperator("[") || IsOperator("{")) {
      // "x is divisibleby 3": one argument without parentheses.
      if (IsName("is")) return Error(next.line, "tests cannot be chained with 'is'");
      Argument argument;
      ASSIGN_OR_RETURN(argument.value, ParsePrimary());
      ASSIGN_OR_RETURN(argument.value, ParsePostfix(std::move(argument.value)));
      test->arguments.push_back(std::move(argument));
    }
    return ExprPtr(std::move(test));
  }

  const std::vector<Token>& tokens_;
  std::string_view name_;
  size_t pos_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

StatusOr<Body> Parse(const std::vector<Token>& tokens, std::string_view name) {
  return Parser(tokens, name).Run();
}

}  // namespace lightrl::jinja
