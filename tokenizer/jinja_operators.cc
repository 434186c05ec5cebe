#include "tokenizer/jinja_operators.h"

#include <cmath>
#include <string>
#include <vector>

#include "tokenizer/jinja_format.h"

namespace lightrl::jinja {
namespace {

bool IsInteger(const Value& v) {
  return v.kind() == Value::Kind::kInt || v.kind() == Value::Kind::kBool;
}
int64_t Integer(const Value& v) {
  return v.kind() == Value::Kind::kInt ? v.as_int() : int64_t{v.as_bool()};
}

Status Unsupported(std::string_view op, const Value& a, const Value& b) {
  if (a.is_string() && op == "+") {
    return InvalidArgumentError("can only concatenate str (not \"" + b.TypeName() + "\") to str");
  }
  return InvalidArgumentError("unsupported operand type(s) for " + std::string(op) + ": '" +
                              a.TypeName() + "' and '" + b.TypeName() + "'");
}

Status Overflow() { return OutOfRangeError("integer overflow beyond 64 bits"); }

StatusOr<Value> Repeat(const Value& sequence, int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += sequence.as_string();
    return Value::String(std::move(out));
  }
  std::vector<Value> items;
  for (int64_t i = 0; i < times; ++i) {
    items.insert(items.end(), sequence.as_list().items.begin(), sequence.as_list().items.end());
  }
  return Value::MakeList(std::move(items), sequence.as_list().is_tuple);
}

StatusOr<Value> Arithmetic(std::string_view op, const Value& a, const Value& b) {
  if (IsInteger(a) && IsInteger(b)) {
    const int64_t x = Integer(a);
    const int64_t y = Integer(b);
    int64_t result = 0;
    if (op == "+" || op == "-" || op == "*") {
      const bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &result)
                            : op == "-" ? __builtin_sub_overflow(x, y, &result)
                                        : __builtin_mul_overflow(x, y, &result);
      if (overflow) return Overflow();
      return Value::Int(result);
    }
    if (op == "/") {
      if (y == 0) return InvalidArgumentError("division by zero");
      return Value::Float(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) return InvalidArgumentError("integer division or modulo by zero");
      int64_t quotient = x / y;
      int64_t remainder = x % y;
      if (remainder != 0 && ((remainder < 0) != (y < 0))) {  // Python floors toward -inf.
        --quotient;
        remainder += y;
      }
      return Value::Int(op == "//" ? quotient : remainder);
    }
    if (op == "**" && y >= 0) {
      int64_t power = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(power, x, &power)) return Overflow();
      }
      return Value::Int(power);
    }
  }
  const double x = a.number();
  const double y = b.number();
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "**") return Value::Float(std::pow(x, y));
  if (y == 0) return InvalidArgumentError("float division by zero");
  if (op == "/") return Value::Float(x / y);
  if (op == "//") return Value::Float(std::floor(x / y));
  double remainder = std::fmod(x, y);
  if (remainder != 0 && ((remainder < 0) != (y < 0))) remainder += y;
  return Value::Float(remainder);
}

}  // namespace

StatusOr<Value> BinaryOperation(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") return Value::String(ToStr(a) + ToStr(b));
  if (a.is_undefined()) return InvalidArgumentError(a.undefined_hint());
  if (b.is_undefined()) return InvalidArgumentError(b.undefined_hint());
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::String(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::MakeList(std::move(items), a.as_list().is_tuple);
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && IsInteger(b)) return Repeat(a, Integer(b));
    if (IsInteger(a) && (b.is_string() || b.is_list())) return Repeat(b, Integer(a));
  }
  if (op == "%" && a.is_string()) {
    return UnimplementedError("string formatting with '%' is not supported");
  }
  return Unsupported(op, a, b);
}

}  // namespace lightrl::jinja
