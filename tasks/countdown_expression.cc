#include "tasks/countdown_expression.h"

#include <cctype>
#include <string>

namespace lightrl {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  StatusOr<CountdownEvaluation> Run() {
    if (static_cast<int>(text_.size()) > kMaxCountdownChars) {
      return InvalidArgumentError("expression longer than " + std::to_string(kMaxCountdownChars) +
                                  " characters");
    }
    std::optional<Rational> value = ParseExpr(0);
    if (!syntax_error_.empty()) return InvalidArgumentError(syntax_error_);
    SkipSpaces();
    if (pos_ != text_.size()) return SyntaxError("unexpected character");
    result_.value = eval_error_.empty() ? value : std::nullopt;
    result_.error = eval_error_;
    return std::move(result_);
  }

 private:
  // Each Parse* returns nullopt on a syntax error (recorded in syntax_error_) or on an
  // evaluation error (recorded in eval_error_, parsing continues to check the syntax).
  std::optional<Rational> ParseExpr(int depth) { return ParseBinary(depth, "+-"); }

  // A chain of operands joined by the operators in `ops`; "+-" operands are "*/" chains,
  // "*/" operands are factors.
  std::optional<Rational> ParseBinary(int depth, std::string_view ops) {
    bool sums = ops == "+-";
    std::optional<Rational> left = sums ? ParseBinary(depth, "*/") : ParseFactor(depth);
    while (syntax_error_.empty()) {
      SkipSpaces();
      if (pos_ >= text_.size() || ops.find(text_[pos_]) == std::string_view::npos) break;
      char op = text_[pos_++];
      std::optional<Rational> right = sums ? ParseBinary(depth, "*/") : ParseFactor(depth);
      left = Combine(left, right, op);
    }
    return left;
  }

  std::optional<Rational> ParseFactor(int depth) {
    SkipSpaces();
    if (pos_ >= text_.size()) return Fail("expected a number or '('");
    if (text_[pos_] == '(') {
      if (depth >= kMaxCountdownDepth) return Fail("parentheses nested too deeply");
      ++pos_;
      std::optional<Rational> inner = ParseExpr(depth + 1);
      if (!syntax_error_.empty()) return std::nullopt;
      SkipSpaces();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Fail("expected ')'");
      ++pos_;
      return inner;
    }
    size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (pos_ == start) return Fail("expected a number or '('");
    std::optional<Rational> number = ParseRational(text_.substr(start, pos_ - start));
    if (!number) return Fail("number too large");
    if (static_cast<int>(result_.numbers.size()) >= kMaxCountdownNumbers) {
      return Fail("more than " + std::to_string(kMaxCountdownNumbers) + " numbers");
    }
    result_.numbers.push_back(number->num);
    return number;
  }

  std::optional<Rational> Combine(const std::optional<Rational>& a,
                                  const std::optional<Rational>& b, char op) {
    if (!a || !b) return std::nullopt;
    std::optional<Rational> out;
    switch (op) {
      case '+':
        out = Add(*a, *b);
        break;
      case '-':
        out = Subtract(*a, *b);
        break;
      case '*':
        out = Multiply(*a, *b);
        break;
      default:
        if (b->num == 0) {
          SetEvalError("division by zero");
          return std::nullopt;
        }
        out = Divide(*a, *b);
    }
    if (!out) SetEvalError("arithmetic overflow");
    return out;
  }

  void SetEvalError(const std::string& message) {
    if (eval_error_.empty()) eval_error_ = message;
  }

  std::nullopt_t Fail(const std::string& message) {
    if (syntax_error_.empty()) {
      syntax_error_ = message + " at position " + std::to_string(pos_);
    }
    return std::nullopt;
  }

  Status SyntaxError(const std::string& message) {
    return InvalidArgumentError(message + " at position " + std::to_string(pos_));
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string syntax_error_;
  std::string eval_error_;
  CountdownEvaluation result_;
};

}  // namespace

StatusOr<CountdownEvaluation> EvaluateCountdownExpression(std::string_view text) {
  return Parser(text).Run();
}

}  // namespace lightrl
