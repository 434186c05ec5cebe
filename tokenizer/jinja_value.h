// The values of the Jinja interpreter (tokenizer/chat_template.h), with Python's semantics as
// Jinja2 gives them: undefined, none, booleans, integers, floats, strings, lists (and tuples),
// dicts with string keys in insertion order, namespaces and callables.
//
// Strings are UTF-8; their length, indexing and slicing count code points, as Python's do.
// Lists and dicts are immutable once built and shared between copies; a namespace is the one
// mutable value (`{% set ns.x = ... %}`), shared by its copies as in Python.
//
// Thread-safety: a Value is immutable except for a namespace's attributes; values that hold no
// namespace may be shared between threads (a parsed template's constants are).
#ifndef LIGHTRL_TOKENIZER_JINJA_VALUE_H_
#define LIGHTRL_TOKENIZER_JINJA_VALUE_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace lightrl::jinja {

class Value;

struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // Prints as (a, b); otherwise the same as a list.
};

struct Dict {
  std::vector<std::pair<std::string, Value>> entries;  // In insertion order, keys unique.
  // The value under `key`, or null.
  const Value* Find(std::string_view key) const;
};

struct Namespace {
  std::map<std::string, Value, std::less<>> attributes;
};

// Positional and keyword arguments of a call, a filter or a test.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A function the template can call: a macro, a global such as range, or a bound method.
class Callable {
 public:
  virtual ~Callable() = default;
  // Errors carry no location; the caller adds it.
  virtual StatusOr<Value> Call(CallArgs args) const = 0;
  // For messages: "range", "macro 'render'", "str.startswith".
  virtual std::string Name() const = 0;
};

// Jinja2's default Undefined: prints as "", is falsy and iterates as empty; any other use
// (arithmetic, attribute access, a call, tojson) is an error that quotes `hint`.
struct Undefined {
  std::string hint;  // "'messages' is undefined", "'dict object' has no attribute 'x'"
};

class Value {
 public:
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kCallable
  };

  Value() : data_(Undefined{}) {}
  static Value MakeUndefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  static Value None() { return Value(nullptr); }
  static Value Bool(bool b) { return Value(b); }
  static Value Int(int64_t i) { return Value(i); }
  static Value Float(double f) { return Value(f); }
  static Value String(std::string s) { return Value(std::move(s)); }
  static Value MakeList(std::vector<Value> items, bool is_tuple = false);
  static Value MakeDict(std::vector<std::pair<std::string, Value>> entries);
  static Value MakeNamespace(std::shared_ptr<Namespace> ns) { return Value(std::move(ns)); }
  static Value MakeCallable(std::shared_ptr<const Callable> f) { return Value(std::move(f)); }
  // Objects become dicts (key order kept), arrays lists; integers stay integers.
  static Value FromJson(const nlohmann::ordered_json& json);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  // Booleans count as numbers, as in Python.
  bool is_number() const;

  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(data_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<const Dict>>(data_); }
  Namespace& as_namespace() const { return *std::get<std::shared_ptr<Namespace>>(data_); }
  const Callable& as_callable() const { return *std::get<std::shared_ptr<const Callable>>(data_); }
  // An integer, a boolean or a float as a double; the caller checks is_number().
  double number() const;

  // Python's truth value (undefined is false).
  bool Truthy() const;
  // "str", "int", "list", ... as Python names the type in its messages.
  std::string TypeName() const;

 private:
  using Data = std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string,
                            std::shared_ptr<const List>, std::shared_ptr<const Dict>,
                            std::shared_ptr<Namespace>, std::shared_ptr<const Callable>>;
  template <typename T>
  explicit Value(T data) : data_(std::move(data)) {}
  Data data_;
};

// Python's ==: 1 == 1.0 == True, lists element-wise, dicts as sets of pairs, undefined equals
// only undefined.
bool Equal(const Value& a, const Value& b);
// Python's <: numbers, strings (by code point), lists lexicographically; else an error.
StatusOr<bool> Less(const Value& a, const Value& b);

// Python's `item in container`: a substring, a dict's key, a list's item; false for undefined.
StatusOr<bool> Contains(const Value& container, const Value& item);

// Matches `args` to the parameters `names` (positionally, then by keyword) of the function
// `what` names in messages; parameters not given are nullopt. Extra or unknown arguments are an
// error.
StatusOr<std::vector<std::optional<Value>>> BindArgs(const CallArgs& args,
                                                     std::initializer_list<std::string_view> names,
                                                     std::string_view what);

// The items a for loop visits: a list's items, a string's characters, a dict's keys; nothing for
// undefined; an error for anything else.
StatusOr<std::vector<Value>> Iterate(const Value& value);

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_VALUE_H_
