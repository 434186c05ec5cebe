#include "tokenizer/jinja_filters.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "tokenizer/jinja_format.h"
#include "tokenizer/jinja_methods.h"
#include "tokenizer/jinja_text.h"

namespace lightrl::jinja {
namespace {

using FilterFunction = StatusOr<Value> (*)(const Value&, const CallArgs&);
using TestFunction = StatusOr<bool> (*)(const Value&, const CallArgs&);

bool IsInteger(const Value& v) {
  return v.kind() == Value::Kind::kInt || v.kind() == Value::Kind::kBool;
}
int64_t Integer(const Value& v) {
  return v.kind() == Value::Kind::kInt ? v.as_int() : int64_t{v.as_bool()};
}

Status Fail(const Value& value) { return InvalidArgumentError(value.undefined_hint()); }

StatusOr<bool> BoolArg(const std::optional<Value>& value, bool fallback) {
  return value ? value->Truthy() : fallback;
}

StatusOr<std::string> Text(const Value& input, std::string_view filter) {
  std::string text = ToStr(input);
  if (HasNonAscii(text)) {
    return UnimplementedError("filter '" + std::string(filter) +
                              "' on non-ASCII text is not supported");
  }
  return text;
}

// Jinja2's attribute getter: "a.b.0" looks up a, then b, then index 0, each as an item first.
StatusOr<Value> Attribute(const Value& item, const std::string& path) {
  Value value = item;
  for (const std::string& part : Split(path, std::string("."), -1)) {
    const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    ASSIGN_OR_RETURN(value,
                     GetItem(value, digits ? Value::Int(std::stoll(part)) : Value::String(part)));
    if (value.is_undefined()) break;
  }
  return value;
}

// The key sort, unique and dictsort compare: strings lower-cased unless case-sensitive.
Value SortKey(const Value& value, bool case_sensitive) {
  if (case_sensitive || !value.is_string()) return value;
  return Value::String(AsciiLower(value.as_string()));
}

StatusOr<Value> Length(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "length").status());
  switch (input.kind()) {
    case Value::Kind::kUndefined:
      return Value::Int(0);
    case Value::Kind::kString:
      return Value::Int(static_cast<int64_t>(CodePointCount(input.as_string())));
    case Value::Kind::kList:
      return Value::Int(static_cast<int64_t>(input.as_list().items.size()));
    case Value::Kind::kDict:
      return Value::Int(static_cast<int64_t>(input.as_dict().entries.size()));
    default:
      return InvalidArgumentError("object of type '" + input.TypeName() + "' has no len()");
  }
}

StatusOr<Value> Trim(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"chars"}, "trim"));
  std::optional<std::string> chars;
  if (bound[0] && !bound[0]->is_none()) chars = ToStr(*bound[0]);
  return Value::String(Strip(ToStr(input), chars, true, true));
}

StatusOr<Value> ToJsonFilter(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound,
                   BindArgs(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson"));
  JsonOptions options;
  options.ensure_ascii = bound[0] && bound[0]->Truthy();
  if (bound[1] && !bound[1]->is_none()) {
    if (bound[1]->is_string()) {
      options.indent = bound[1]->as_string();
    } else if (IsInteger(*bound[1])) {
      options.indent = std::string(std::max<int64_t>(0, Integer(*bound[1])), ' ');
    } else {
      return InvalidArgumentError("tojson() indent must be an integer or a string");
    }
  }
  if (bound[2] && !bound[2]->is_none()) {
    const Value& separators = *bound[2];
    if (!separators.is_list() || separators.as_list().items.size() != 2 ||
        !separators.as_list().items[0].is_string() || !separators.as_list().items[1].is_string()) {
      return InvalidArgumentError("tojson() separators must be a pair of strings");
    }
    options.separators = std::make_pair(separators.as_list().items[0].as_string(),
                                        separators.as_list().items[1].as_string());
  }
  options.sort_keys = bound[3] && bound[3]->Truthy();
  if (input.is_undefined()) {
    return InvalidArgumentError("Object of type Undefined is not JSON serializable");
  }
  ASSIGN_OR_RETURN(std::string json, ToJson(input, options));
  return Value::String(std::move(json));
}

StatusOr<Value> Items(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "items").status());
  if (input.is_undefined()) return Value::MakeList({});
  if (!input.is_dict()) return InvalidArgumentError("Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [key, value] : input.as_dict().entries) {
    pairs.push_back(Value::MakeList({Value::String(key), value}, /*is_tuple=*/true));
  }
  return Value::MakeList(std::move(pairs));
}

StatusOr<Value> Join(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"d", "attribute"}, "join"));
  const std::string separator = bound[0] ? ToStr(*bound[0]) : "";
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (bound[1]) {
      ASSIGN_OR_RETURN(item, Attribute(item, ToStr(*bound[1])));
    }
    if (i > 0) out += separator;
    out += ToStr(item);
  }
  return Value::String(std::move(out));
}

StatusOr<Value> CaseFilter(const Value& input, const CallArgs& args, std::string_view name) {
  RETURN_IF_ERROR(BindArgs(args, {}, name).status());
  ASSIGN_OR_RETURN(std::string text, Text(input, name));
  if (name == "upper") return Value::String(AsciiUpper(text));
  if (name == "lower") return Value::String(AsciiLower(text));
  if (name == "title") return Value::String(AsciiTitle(text));
  return Value::String(text.empty() ? text
                                    : AsciiUpper(text.substr(0, 1)) + AsciiLower(text.substr(1)));
}

StatusOr<Value> Default(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"default_value", "boolean"}, "default"));
  const bool use_default =
      input.is_undefined() || (bound[1] && bound[1]->Truthy() && !input.Truthy());
  if (use_default) return bound[0].value_or(Value::String(""));
  return input;
}

StatusOr<Value> FirstOrLast(const Value& input, const CallArgs& args, bool first) {
  RETURN_IF_ERROR(BindArgs(args, {}, first ? "first" : "last").status());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  if (items.empty()) return Value::MakeUndefined("No first item, sequence was empty.");
  return first ? items.front() : items.back();
}

StatusOr<Value> ListFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "list").status());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  return Value::MakeList(std::move(items));
}

StatusOr<Value> ReplaceFilter(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"old", "new", "count"}, "replace"));
  if (!bound[0] || !bound[1]) return InvalidArgumentError("replace() takes old and new");
  int64_t count = -1;
  if (bound[2] && !bound[2]->is_none()) {
    if (!IsInteger(*bound[2])) return InvalidArgumentError("replace() count must be an integer");
    count = Integer(*bound[2]);
  }
  return Value::String(Replace(ToStr(input), ToStr(*bound[0]), ToStr(*bound[1]), count));
}

StatusOr<Value> Reverse(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "reverse").status());
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  std::reverse(items.begin(), items.end());
  if (!input.is_string()) return Value::MakeList(std::move(items));
  std::string text;
  for (const Value& c : items) text += c.as_string();
  return Value::String(std::move(text));
}

StatusOr<Value> StringFilter(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "string").status());
  return Value::String(ToStr(input));
}

StatusOr<Value> Escape(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "escape").status());
  std::string out;
  for (char c : ToStr(input)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value::String(std::move(out));
}

StatusOr<Value> IntFilter(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"default", "base"}, "int"));
  const Value fallback = bound[0].value_or(Value::Int(0));
  const int base = bound[1] && IsInteger(*bound[1]) ? static_cast<int>(Integer(*bound[1])) : 10;
  if (IsInteger(input)) return Value::Int(Integer(input));
  if (input.kind() == Value::Kind::kFloat) {
    if (!std::isfinite(input.as_float())) return fallback;
    return Value::Int(static_cast<int64_t>(input.as_float()));
  }
  if (!input.is_string()) return fallback;
  std::string text = Replace(Strip(input.as_string(), std::nullopt, true, true), "_", "", -1);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, base);
  if (!text.empty() && *end == '\0' && errno == 0) return Value::Int(value);
  const double real = std::strtod(text.c_str(), &end);  // "1.9" is 1, as int(float("1.9")).
  if (!text.empty() && *end == '\0' && std::isfinite(real)) {
    return Value::Int(static_cast<int64_t>(real));
  }
  return fallback;
}

StatusOr<Value> FloatFilter(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"default"}, "float"));
  const Value fallback = bound[0].value_or(Value::Float(0));
  if (input.is_number()) return Value::Float(input.number());
  if (!input.is_string()) return fallback;
  const std::string text = Strip(input.as_string(), std::nullopt, true, true);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return fallback;
  return Value::Float(value);
}

StatusOr<Value> Abs(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "abs").status());
  if (IsInteger(input)) return Value::Int(std::abs(Integer(input)));
  if (input.kind() == Value::Kind::kFloat) return Value::Float(std::fabs(input.as_float()));
  return InvalidArgumentError("bad operand type for abs(): '" + input.TypeName() + "'");
}

StatusOr<Value> Map(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  std::vector<Value> out;
  if (args.positional.empty()) {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"attribute", "default"}, "map"));
    if (!bound[0]) return InvalidArgumentError("map() needs a filter name or attribute=");
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Value value, Attribute(item, ToStr(*bound[0])));
      out.push_back(value.is_undefined() && bound[1] ? *bound[1] : value);
    }
    return Value::MakeList(std::move(out));
  }
  const std::string filter = ToStr(args.positional[0]);
  if (!HasFilter(filter)) return UnimplementedError("filter '" + filter + "' is not supported");
  CallArgs rest{{args.positional.begin() + 1, args.positional.end()}, args.keyword};
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value value, ApplyFilter(filter, item, rest));
    out.push_back(std::move(value));
  }
  return Value::MakeList(std::move(out));
}

// select / reject / selectattr / rejectattr.
StatusOr<Value> Select(const Value& input, const CallArgs& args, bool keep, bool by_attribute) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) return InvalidArgumentError("selectattr() needs an attribute");
    attribute = ToStr(args.positional[next++]);
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) test = ToStr(args.positional[next++]);
  if (test && !HasTest(*test)) return UnimplementedError("test '" + *test + "' is not supported");
  CallArgs test_args{{args.positional.begin() + next, args.positional.end()}, args.keyword};
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      ASSIGN_OR_RETURN(subject, Attribute(item, attribute));
    }
    bool passes = subject.Truthy();
    if (test) {
      ASSIGN_OR_RETURN(passes, ApplyTest(*test, subject, test_args));
    }
    if (passes == keep) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

StatusOr<Value> Unique(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"case_sensitive", "attribute"}, "unique"));
  ASSIGN_OR_RETURN(bool case_sensitive, BoolArg(bound[0], false));
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  std::vector<Value> out;
  std::vector<Value> seen;
  for (const Value& item : items) {
    Value key = item;
    if (bound[1]) {
      ASSIGN_OR_RETURN(key, Attribute(item, ToStr(*bound[1])));
    }
    key = SortKey(key, case_sensitive);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equal(s, key); })) {
      continue;
    }
    seen.push_back(std::move(key));
    out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

// Sorts `items` by `key(item)` with Python's ordering, stably; an error when two keys cannot be
// compared.
Status SortBy(std::vector<Value>& items, const std::function<StatusOr<Value>(const Value&)>& key,
              bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value k, key(item));
    keyed.emplace_back(std::move(k), item);
  }
  Status error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    StatusOr<bool> less = reverse ? Less(b.first, a.first) : Less(a.first, b.first);
    if (!less.ok()) {
      if (error.ok()) error = less.status();
      return false;
    }
    return *less;
  });
  RETURN_IF_ERROR(error);
  for (size_t i = 0; i < items.size(); ++i) items[i] = std::move(keyed[i].second);
  return Status::Ok();
}

StatusOr<Value> Sort(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"reverse", "case_sensitive", "attribute"}, "sort"));
  ASSIGN_OR_RETURN(bool reverse, BoolArg(bound[0], false));
  ASSIGN_OR_RETURN(bool case_sensitive, BoolArg(bound[1], false));
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  RETURN_IF_ERROR(SortBy(
      items,
      [&](const Value& item) -> StatusOr<Value> {
        Value key = item;
        if (bound[2]) {
          ASSIGN_OR_RETURN(key, Attribute(item, ToStr(*bound[2])));
        }
        return SortKey(key, case_sensitive);
      },
      reverse));
  return Value::MakeList(std::move(items));
}

StatusOr<Value> DictSort(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"case_sensitive", "by", "reverse"}, "dictsort"));
  ASSIGN_OR_RETURN(bool case_sensitive, BoolArg(bound[0], false));
  const std::string by = bound[1] ? ToStr(*bound[1]) : "key";
  if (by != "key" && by != "value") {
    return InvalidArgumentError("You can only sort by either \"key\" or \"value\"");
  }
  ASSIGN_OR_RETURN(bool reverse, BoolArg(bound[2], false));
  ASSIGN_OR_RETURN(Value pairs, Items(input, {}));
  std::vector<Value> items = pairs.as_list().items;
  RETURN_IF_ERROR(SortBy(
      items,
      [&](const Value& pair) -> StatusOr<Value> {
        return SortKey(pair.as_list().items[by == "key" ? 0 : 1], case_sensitive);
      },
      reverse));
  return Value::MakeList(std::move(items));
}

StatusOr<Value> Indent(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"width", "first", "blank"}, "indent"));
  std::string indentation = "    ";
  if (bound[0]) {
    if (bound[0]->is_string()) {
      indentation = bound[0]->as_string();
    } else if (IsInteger(*bound[0])) {
      indentation = std::string(std::max<int64_t>(0, Integer(*bound[0])), ' ');
    } else {
      return InvalidArgumentError("indent() width must be an integer or a string");
    }
  }
  ASSIGN_OR_RETURN(bool first, BoolArg(bound[1], false));
  ASSIGN_OR_RETURN(bool blank, BoolArg(bound[2], false));
  // As Jinja2: a newline is appended so that splitlines keeps a trailing empty line.
  std::vector<std::string> lines = SplitLines(ToStr(input) + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += "\n";
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
  }
  return Value::String(first ? indentation + out : out);
}

// ----- Tests.

StatusOr<bool> Compare(const Value& input, const CallArgs& args, std::string_view op) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"other"}, op));
  if (!bound[0]) return InvalidArgumentError("test '" + std::string(op) + "' needs an argument");
  const Value& other = *bound[0];
  if (op == "==") return Equal(input, other);
  if (op == "!=") return !Equal(input, other);
  if (op == "<") return Less(input, other);
  if (op == ">") return Less(other, input);
  ASSIGN_OR_RETURN(bool less, op == "<=" ? Less(other, input) : Less(input, other));
  return !less;  // a <= b is not (b < a); a >= b is not (a < b).
}

StatusOr<bool> Parity(const Value& input, const CallArgs& args, int64_t remainder) {
  RETURN_IF_ERROR(BindArgs(args, {}, remainder ? "odd" : "even").status());
  if (input.is_undefined()) return Fail(input);
  if (IsInteger(input)) return (Integer(input) % 2 + 2) % 2 == remainder;
  if (input.kind() == Value::Kind::kFloat) {
    return std::fmod(std::fmod(input.as_float(), 2) + 2, 2) == static_cast<double>(remainder);
  }
  return InvalidArgumentError("unsupported operand type(s) for %: '" + input.TypeName() +
                              "' and 'int'");
}

StatusOr<bool> DivisibleBy(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"num"}, "divisibleby"));
  if (input.is_undefined()) return Fail(input);
  if (!bound[0] || !IsInteger(*bound[0]) || !IsInteger(input)) {
    return InvalidArgumentError("divisibleby needs integers");
  }
  if (Integer(*bound[0]) == 0) return InvalidArgumentError("integer division or modulo by zero");
  return Integer(input) % Integer(*bound[0]) == 0;
}

StatusOr<bool> In(const Value& input, const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"seq"}, "in"));
  if (!bound[0]) return InvalidArgumentError("test 'in' needs an argument");
  return Contains(*bound[0], input);
}

template <bool (*Predicate)(const Value&)>
StatusOr<bool> Is(const Value& input, const CallArgs& args) {
  RETURN_IF_ERROR(BindArgs(args, {}, "test").status());
  return Predicate(input);
}

bool IsIterable(const Value& v) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool IsBoolean(const Value& v) { return v.kind() == Value::Kind::kBool; }
bool IsCallable(const Value& v) { return v.kind() == Value::Kind::kCallable; }
bool IsDefined(const Value& v) { return !v.is_undefined(); }
bool IsEscaped(const Value&) { return false; }  // No value is markup-safe here.
bool IsFalse(const Value& v) { return v.kind() == Value::Kind::kBool && !v.as_bool(); }
bool IsFloat(const Value& v) { return v.kind() == Value::Kind::kFloat; }
bool IsIntegerValue(const Value& v) { return v.kind() == Value::Kind::kInt; }
bool IsMapping(const Value& v) { return v.is_dict(); }
bool IsNone(const Value& v) { return v.is_none(); }
bool IsNumber(const Value& v) { return v.is_number(); }
bool IsString(const Value& v) { return v.is_string(); }
bool IsTrue(const Value& v) { return v.kind() == Value::Kind::kBool && v.as_bool(); }
bool IsUndefined(const Value& v) { return v.is_undefined(); }

StatusOr<bool> CaseTest(const Value& input, const CallArgs& args, bool lower) {
  RETURN_IF_ERROR(BindArgs(args, {}, lower ? "lower" : "upper").status());
  const std::string text = ToStr(input);
  if (HasNonAscii(text))
    return UnimplementedError("test 'lower'/'upper' on non-ASCII text is not supported");
  bool cased = false;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      cased = true;
      if (lower ? std::isupper(static_cast<unsigned char>(c))
                : std::islower(static_cast<unsigned char>(c))) {
        return false;
      }
    }
  }
  return cased;
}

const std::map<std::string_view, FilterFunction>& Filters() {
  static const auto* filters = new std::map<std::string_view, FilterFunction>{
      {"abs", Abs},
      {"capitalize",
       [](const Value& v, const CallArgs& a) { return CaseFilter(v, a, "capitalize"); }},
      {"count", Length},
      {"d", Default},
      {"default", Default},
      {"dictsort", DictSort},
      {"e", Escape},
      {"escape", Escape},
      {"first", [](const Value& v, const CallArgs& a) { return FirstOrLast(v, a, true); }},
      {"float", FloatFilter},
      {"indent", Indent},
      {"int", IntFilter},
      {"items", Items},
      {"join", Join},
      {"last", [](const Value& v, const CallArgs& a) { return FirstOrLast(v, a, false); }},
      {"length", Length},
      {"list", ListFilter},
      {"lower", [](const Value& v, const CallArgs& a) { return CaseFilter(v, a, "lower"); }},
      {"map", Map},
      {"reject", [](const Value& v, const CallArgs& a) { return Select(v, a, false, false); }},
      {"rejectattr", [](const Value& v, const CallArgs& a) { return Select(v, a, false, true); }},
      {"replace", ReplaceFilter},
      {"reverse", Reverse},
      {"safe", StringFilter},
      {"select", [](const Value& v, const CallArgs& a) { return Select(v, a, true, false); }},
      {"selectattr", [](const Value& v, const CallArgs& a) { return Select(v, a, true, true); }},
      {"sort", Sort},
      {"string", StringFilter},
      {"title", [](const Value& v, const CallArgs& a) { return CaseFilter(v, a, "title"); }},
      {"tojson", ToJsonFilter},
      {"trim", Trim},
      {"unique", Unique},
      {"upper", [](const Value& v, const CallArgs& a) { return CaseFilter(v, a, "upper"); }},
  };
  return *filters;
}

const std::map<std::string_view, TestFunction>& Tests() {
  static const auto* tests = new std::map<std::string_view, TestFunction>{
      {"boolean", Is<IsBoolean>},
      {"callable", Is<IsCallable>},
      {"defined", Is<IsDefined>},
      {"divisibleby", DivisibleBy},
      {"eq", [](const Value& v, const CallArgs& a) { return Compare(v, a, "=="); }},
      {"equalto", [](const Value& v, const CallArgs& a) { return Compare(v, a, "=="); }},
      {"==", [](const Value& v, const CallArgs& a) { return Compare(v, a, "=="); }},
      {"escaped", Is<IsEscaped>},
      {"even", [](const Value& v, const CallArgs& a) { return Parity(v, a, 0); }},
      {"false", Is<IsFalse>},
      {"float", Is<IsFloat>},
      {"ge", [](const Value& v, const CallArgs& a) { return Compare(v, a, ">="); }},
      {">=", [](const Value& v, const CallArgs& a) { return Compare(v, a, ">="); }},
      {"gt", [](const Value& v, const CallArgs& a) { return Compare(v, a, ">"); }},
      {">", [](const Value& v, const CallArgs& a) { return Compare(v, a, ">"); }},
      {"greaterthan", [](const Value& v, const CallArgs& a) { return Compare(v, a, ">"); }},
      {"in", In},
      {"integer", Is<IsIntegerValue>},
      {"iterable", Is<IsIterable>},
      {"le", [](const Value& v, const CallArgs& a) { return Compare(v, a, "<="); }},
      {"<=", [](const Value& v, const CallArgs& a) { return Compare(v, a, "<="); }},
      {"lower", [](const Value& v, const CallArgs& a) { return CaseTest(v, a, true); }},
      {"lt", [](const Value& v, const CallArgs& a) { return Compare(v, a, "<"); }},
      {"<", [](const Value& v, const CallArgs& a) { return Compare(v, a, "<"); }},
      {"lessthan", [](const Value& v, const CallArgs& a) { return Compare(v, a, "<"); }},
      {"mapping", Is<IsMapping>},
      {"ne", [](const Value& v, const CallArgs& a) { return Compare(v, a, "!="); }},
      {"!=", [](const Value& v, const CallArgs& a) { return Compare(v, a, "!="); }},
      {"none", Is<IsNone>},
      {"number", Is<IsNumber>},
      {"odd", [](const Value& v, const CallArgs& a) { return Parity(v, a, 1); }},
      {"sameas",
       [](const Value& v, const CallArgs& a) -> StatusOr<bool> {
         // Identity: the same list or dict; equal scalars (Python's singletons and small values).
         ASSIGN_OR_RETURN(auto bound, BindArgs(a, {"other"}, "sameas"));
         if (!bound[0]) return InvalidArgumentError("test 'sameas' needs an argument");
         const Value& other = *bound[0];
         if (v.kind() != other.kind()) return false;
         if (v.is_list()) return &v.as_list() == &other.as_list();
         if (v.is_dict()) return &v.as_dict() == &other.as_dict();
         return Equal(v, other);
       }},
      {"sequence", Is<IsIterable>},
      {"string", Is<IsString>},
      {"true", Is<IsTrue>},
      {"undefined", Is<IsUndefined>},
      {"upper", [](const Value& v, const CallArgs& a) { return CaseTest(v, a, false); }},
  };
  return *tests;
}

}  // namespace

bool HasFilter(std::string_view name) { return Filters().contains(name); }
bool HasTest(std::string_view name) { return Tests().contains(name); }

StatusOr<Value> ApplyFilter(std::string_view name, const Value& input, const CallArgs& args) {
  return Filters().at(name)(input, args);
}

StatusOr<bool> ApplyTest(std::string_view name, const Value& input, const CallArgs& args) {
  return Tests().at(name)(input, args);
}

}  // namespace lightrl::jinja
