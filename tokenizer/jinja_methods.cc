#include "tokenizer/jinja_methods.h"

#include <algorithm>
#include <ctime>
#include <functional>

#include "tokenizer/jinja_format.h"
#include "tokenizer/jinja_text.h"

namespace lightrl::jinja {
namespace {

// The sandbox's bound on range(), as Jinja2's sandboxed environment has it.
constexpr int64_t kMaxRange = 100000;

constexpr std::string_view kPythonStrMethods[] = {
    "capitalize",   "casefold",    "center",    "count",      "encode",       "endswith",
    "expandtabs",   "find",        "format",    "format_map", "index",        "isalnum",
    "isalpha",      "isascii",     "isdecimal", "isdigit",    "isidentifier", "islower",
    "isnumeric",    "isprintable", "isspace",   "istitle",    "isupper",      "join",
    "ljust",        "lower",       "lstrip",    "maketrans",  "partition",    "removeprefix",
    "removesuffix", "replace",     "rfind",     "rindex",     "rjust",        "rpartition",
    "rsplit",       "rstrip",      "split",     "splitlines", "startswith",   "strip",
    "swapcase",     "title",       "translate", "upper",      "zfill"};
constexpr std::string_view kStrMethods[] = {
    "startswith", "endswith", "strip", "lstrip", "rstrip",     "split", "splitlines",
    "replace",    "upper",    "lower", "title",  "capitalize", "join",  "find"};
constexpr std::string_view kDictMethods[] = {"get", "items", "keys", "values"};
constexpr std::string_view kListMethods[] = {"index", "count"};
constexpr std::string_view kPythonDictMethods[] = {"clear",      "copy",   "fromkeys", "get",
                                                   "items",      "keys",   "pop",      "popitem",
                                                   "setdefault", "update", "values"};
constexpr std::string_view kPythonListMethods[] = {"append", "clear",   "copy",   "count",
                                                   "extend", "index",   "insert", "pop",
                                                   "remove", "reverse", "sort"};

template <size_t N>
bool Contains(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// How Jinja2 names an object's type in "has no attribute" messages.
std::string TypeRepr(const Value& value) {
  return value.is_none() ? "None" : value.TypeName() + " object";
}

Status NotAString(std::string_view what, const Value& value) {
  return InvalidArgumentError(std::string(what) + " must be str, not " + value.TypeName());
}

StatusOr<std::string> StringArg(const std::optional<Value>& value, std::string_view what) {
  if (!value || !value->is_string()) {
    return value ? NotAString(what, *value) : InvalidArgumentError(std::string(what) + " missing");
  }
  return value->as_string();
}

// An optional str argument where None means "not given" (strip's chars, split's sep).
StatusOr<std::optional<std::string>> OptionalStringArg(const std::optional<Value>& value,
                                                       std::string_view what) {
  if (!value || value->is_none()) return std::optional<std::string>();
  if (!value->is_string()) return NotAString(what, *value);
  return std::optional<std::string>(value->as_string());
}

StatusOr<int64_t> IntArg(const std::optional<Value>& value, int64_t fallback,
                         std::string_view what) {
  if (!value) return fallback;
  if (value->kind() == Value::Kind::kInt) return value->as_int();
  if (value->kind() == Value::Kind::kBool) return int64_t{value->as_bool()};
  return InvalidArgumentError(std::string(what) + " must be an integer, not " + value->TypeName());
}

Value StringList(std::vector<std::string> parts) {
  std::vector<Value> items;
  for (std::string& part : parts) items.push_back(Value::String(std::move(part)));
  return Value::MakeList(std::move(items));
}

StatusOr<std::string> AsciiOnly(const std::string& text, std::string_view method) {
  if (HasNonAscii(text)) {
    return UnimplementedError("method '" + std::string(method) +
                              "' on non-ASCII text is not supported");
  }
  return text;
}

StatusOr<Value> StrMethod(const std::string& self, std::string_view name, const CallArgs& args) {
  const std::string what = "str." + std::string(name);
  if (name == "startswith" || name == "endswith") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"prefix"}, what));
    if (!bound[0]) return InvalidArgumentError(what + "() takes exactly one argument");
    std::vector<Value> candidates = {*bound[0]};
    if (bound[0]->is_list() && bound[0]->as_list().is_tuple) candidates = bound[0]->as_list().items;
    for (const Value& candidate : candidates) {
      if (!candidate.is_string()) return NotAString(what + "() argument", candidate);
      const std::string& affix = candidate.as_string();
      if (name == "startswith" ? self.starts_with(affix) : self.ends_with(affix)) {
        return Value::Bool(true);
      }
    }
    return Value::Bool(false);
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"chars"}, what));
    ASSIGN_OR_RETURN(auto chars, OptionalStringArg(bound[0], what + "() argument"));
    return Value::String(Strip(self, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"sep", "maxsplit"}, what));
    ASSIGN_OR_RETURN(auto separator, OptionalStringArg(bound[0], what + "() separator"));
    ASSIGN_OR_RETURN(int64_t max_splits, IntArg(bound[1], -1, what + "() maxsplit"));
    if (separator && separator->empty()) return InvalidArgumentError("empty separator");
    return StringList(Split(self, separator, max_splits));
  }
  if (name == "splitlines") {
    RETURN_IF_ERROR(BindArgs(args, {}, what).status());
    return StringList(SplitLines(self));
  }
  if (name == "replace") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"old", "new", "count"}, what));
    ASSIGN_OR_RETURN(std::string from, StringArg(bound[0], what + "() old"));
    ASSIGN_OR_RETURN(std::string to, StringArg(bound[1], what + "() new"));
    ASSIGN_OR_RETURN(int64_t count, IntArg(bound[2], -1, what + "() count"));
    return Value::String(Replace(self, from, to, count));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    RETURN_IF_ERROR(BindArgs(args, {}, what).status());
    ASSIGN_OR_RETURN(std::string text, AsciiOnly(self, what));
    if (name == "upper") return Value::String(AsciiUpper(text));
    if (name == "lower") return Value::String(AsciiLower(text));
    if (name == "title") return Value::String(AsciiTitle(text));
    return Value::String(text.empty() ? text
                                      : AsciiUpper(text.substr(0, 1)) + AsciiLower(text.substr(1)));
  }
  if (name == "join") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"iterable"}, what));
    if (!bound[0]) return InvalidArgumentError(what + "() takes exactly one argument");
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(*bound[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return InvalidArgumentError("sequence item " + std::to_string(i) +
                                    ": expected str instance, " + items[i].TypeName() + " found");
      }
      if (i > 0) out += self;
      out += items[i].as_string();
    }
    return Value::String(std::move(out));
  }
  if (name == "find") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"sub"}, what));
    ASSIGN_OR_RETURN(std::string sub, StringArg(bound[0], what + "() argument"));
    const size_t found = self.find(sub);
    if (found == std::string::npos) return Value::Int(-1);
    return Value::Int(static_cast<int64_t>(CodePointCount(self.substr(0, found))));
  }
  return UnimplementedError("method '" + what + "' is not supported");
}

StatusOr<Value> DictMethod(const Value& self, std::string_view name, const CallArgs& args) {
  const std::string what = "dict." + std::string(name);
  const Dict& dict = self.as_dict();
  if (name == "get") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"key", "default"}, what));
    if (!bound[0]) return InvalidArgumentError(what + "() takes at least one argument");
    const Value* found = bound[0]->is_string() ? dict.Find(bound[0]->as_string()) : nullptr;
    if (found != nullptr) return *found;
    return bound[1].value_or(Value::None());
  }
  if (name == "items" || name == "keys" || name == "values") {
    RETURN_IF_ERROR(BindArgs(args, {}, what).status());
    std::vector<Value> items;
    for (const auto& [key, value] : dict.entries) {
      if (name == "items") {
        items.push_back(Value::MakeList({Value::String(key), value}, /*is_tuple=*/true));
      } else {
        items.push_back(name == "keys" ? Value::String(key) : value);
      }
    }
    return Value::MakeList(std::move(items));
  }
  return UnimplementedError("method '" + what + "' is not supported");
}

StatusOr<Value> ListMethod(const Value& self, std::string_view name, const CallArgs& args) {
  const std::string what = "list." + std::string(name);
  const std::vector<Value>& items = self.as_list().items;
  if (name == "index" || name == "count") {
    ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"value"}, what));
    if (!bound[0]) return InvalidArgumentError(what + "() takes exactly one argument");
    int64_t count = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!Equal(items[i], *bound[0])) continue;
      if (name == "index") return Value::Int(static_cast<int64_t>(i));
      ++count;
    }
    if (name == "index") return InvalidArgumentError(ToRepr(*bound[0]) + " is not in list");
    return Value::Int(count);
  }
  return UnimplementedError("method '" + what + "' is not supported");
}

// A method bound to its receiver: "abc".startswith.
class BoundMethod : public Callable {
 public:
  BoundMethod(Value self, std::string name) : self_(std::move(self)), name_(std::move(name)) {}
  StatusOr<Value> Call(CallArgs args) const override {
    if (self_.is_string()) return StrMethod(self_.as_string(), name_, args);
    if (self_.is_dict()) return DictMethod(self_, name_, args);
    return ListMethod(self_, name_, args);
  }
  std::string Name() const override { return self_.TypeName() + "." + name_; }

 private:
  Value self_;
  std::string name_;
};

// A global function.
class Builtin : public Callable {
 public:
  using Function = std::function<StatusOr<Value>(const CallArgs&)>;
  Builtin(std::string name, Function function)
      : name_(std::move(name)), function_(std::move(function)) {}
  StatusOr<Value> Call(CallArgs args) const override { return function_(args); }
  std::string Name() const override { return name_; }

 private:
  std::string name_;
  Function function_;
};

// The method `name` of `object` if it has one: the bound method, or an error for a Python
// method this interpreter lacks. Nullopt when `name` is no method of its type.
std::optional<StatusOr<Value>> Method(const Value& object, std::string_view name) {
  bool python_method = false;
  bool supported = false;
  if (object.is_string()) {
    python_method = Contains(kPythonStrMethods, name);
    supported = Contains(kStrMethods, name);
  } else if (object.is_dict()) {
    python_method = Contains(kPythonDictMethods, name);
    supported = Contains(kDictMethods, name);
  } else if (object.is_list()) {
    python_method = Contains(kPythonListMethods, name);
    supported = Contains(kListMethods, name);
  }
  if (!python_method) return std::nullopt;
  if (!supported) {
    return StatusOr<Value>(UnimplementedError("method '" + object.TypeName() + "." +
                                              std::string(name) + "' is not supported"));
  }
  return StatusOr<Value>(
      Value::MakeCallable(std::make_shared<BoundMethod>(object, std::string(name))));
}

StatusOr<Value> Range(const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"start", "stop", "step"}, "range"));
  if (!bound[0]) return InvalidArgumentError("range expected at least 1 argument");
  int64_t start = 0;
  int64_t stop = 0;
  if (bound[1]) {
    ASSIGN_OR_RETURN(start, IntArg(bound[0], 0, "range() start"));
    ASSIGN_OR_RETURN(stop, IntArg(bound[1], 0, "range() stop"));
  } else {
    ASSIGN_OR_RETURN(stop, IntArg(bound[0], 0, "range() stop"));
  }
  ASSIGN_OR_RETURN(int64_t step, IntArg(bound[2], 1, "range() step"));
  if (step == 0) return InvalidArgumentError("range() arg 3 must not be zero");
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(items.size()) == kMaxRange) {
      return InvalidArgumentError("range too big, maximum size for range is " +
                                  std::to_string(kMaxRange));
    }
    items.push_back(Value::Int(i));
  }
  return Value::MakeList(std::move(items));
}

// namespace(mapping?, **attributes) and dict(mapping?, **items): the entries they start with.
StatusOr<std::vector<std::pair<std::string, Value>>> Entries(const CallArgs& args,
                                                             std::string_view what) {
  std::vector<std::pair<std::string, Value>> entries;
  if (args.positional.size() > 1) {
    return InvalidArgumentError(std::string(what) + "() takes at most one positional argument");
  }
  if (!args.positional.empty()) {
    if (!args.positional[0].is_dict()) {
      return InvalidArgumentError(std::string(what) + "() argument must be a mapping");
    }
    entries = args.positional[0].as_dict().entries;
  }
  for (const auto& [key, value] : args.keyword) {
    auto found = std::find_if(entries.begin(), entries.end(),
                              [&](const auto& entry) { return entry.first == key; });
    if (found != entries.end()) {
      found->second = value;
    } else {
      entries.emplace_back(key, value);
    }
  }
  return entries;
}

StatusOr<Value> StrftimeNow(const CallArgs& args) {
  ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"format"}, "strftime_now"));
  ASSIGN_OR_RETURN(std::string format, StringArg(bound[0], "strftime_now() format"));
  const std::time_t now = std::time(nullptr);
  std::tm local;
  localtime_r(&now, &local);
  char buffer[256];
  const size_t size = std::strftime(buffer, sizeof(buffer), format.c_str(), &local);
  if (size == 0 && !format.empty()) return InvalidArgumentError("strftime_now() output too long");
  return Value::String(std::string(buffer, size));
}

}  // namespace

StatusOr<Value> GetAttribute(const Value& object, std::string_view name) {
  if (object.is_undefined()) return InvalidArgumentError(object.undefined_hint());
  if (auto method = Method(object, name)) return *method;
  if (object.is_dict()) {
    if (const Value* found = object.as_dict().Find(name)) return *found;
  } else if (object.kind() == Value::Kind::kNamespace) {
    const auto& attributes = object.as_namespace().attributes;
    if (auto found = attributes.find(name); found != attributes.end()) return found->second;
  }
  return Value::MakeUndefined("'" + TypeRepr(object) + "' has no attribute '" + std::string(name) +
                              "'");
}

StatusOr<Value> GetItem(const Value& object, const Value& key) {
  if (object.is_undefined()) return InvalidArgumentError(object.undefined_hint());
  if (key.is_string()) {
    if (object.is_dict()) {
      if (const Value* found = object.as_dict().Find(key.as_string())) return *found;
    }
    return GetAttribute(object, key.as_string());
  }
  const bool integer = key.kind() == Value::Kind::kInt || key.kind() == Value::Kind::kBool;
  if (integer && (object.is_list() || object.is_string())) {
    const int64_t index = key.kind() == Value::Kind::kInt ? key.as_int() : key.as_bool();
    std::vector<std::string_view> chars;
    if (object.is_string()) chars = CodePoints(object.as_string());
    const int64_t size = object.is_list() ? static_cast<int64_t>(object.as_list().items.size())
                                          : static_cast<int64_t>(chars.size());
    const int64_t at = index < 0 ? index + size : index;
    if (at >= 0 && at < size) {
      if (object.is_list()) return object.as_list().items[at];
      return Value::String(std::string(chars[at]));
    }
  }
  return Value::MakeUndefined(TypeRepr(object) + " has no element " + ToRepr(key));
}

StatusOr<Value> GetSlice(const Value& object, const std::optional<Value>& start,
                         const std::optional<Value>& stop, const std::optional<Value>& step) {
  if (object.is_undefined()) return InvalidArgumentError(object.undefined_hint());
  if (!object.is_list() && !object.is_string()) {
    return InvalidArgumentError("'" + object.TypeName() + "' object is not subscriptable");
  }
  std::vector<std::string_view> chars;
  if (object.is_string()) chars = CodePoints(object.as_string());
  const int64_t size = object.is_list() ? static_cast<int64_t>(object.as_list().items.size())
                                        : static_cast<int64_t>(chars.size());
  auto bound = [](const std::optional<Value>& v) {
    return v && !v->is_none() ? std::optional<Value>(v) : std::nullopt;
  };
  ASSIGN_OR_RETURN(int64_t stride, IntArg(bound(step), 1, "slice step"));
  if (stride == 0) return InvalidArgumentError("slice step cannot be zero");
  // Python's slice.indices: clamp into range, with defaults depending on the direction.
  auto clamp = [&](const std::optional<Value>& v, int64_t fallback) -> StatusOr<int64_t> {
    if (!bound(v)) return fallback;
    ASSIGN_OR_RETURN(int64_t at, IntArg(v, 0, "slice index"));
    if (at < 0) at += size;
    const int64_t low = stride > 0 ? 0 : -1;
    const int64_t high = stride > 0 ? size : size - 1;
    return std::clamp(at, low, high);
  };
  ASSIGN_OR_RETURN(int64_t first, clamp(start, stride > 0 ? 0 : size - 1));
  ASSIGN_OR_RETURN(int64_t last, clamp(stop, stride > 0 ? size : -1));
  std::vector<Value> items;
  std::string text;
  for (int64_t i = first; stride > 0 ? i < last : i > last; i += stride) {
    if (object.is_list()) {
      items.push_back(object.as_list().items[i]);
    } else {
      text += chars[i];
    }
  }
  if (object.is_string()) return Value::String(std::move(text));
  return Value::MakeList(std::move(items), object.as_list().is_tuple);
}

std::vector<std::pair<std::string, Value>> Globals() {
  auto make = [](std::string name, Builtin::Function function) {
    return std::make_pair(
        name, Value::MakeCallable(std::make_shared<Builtin>(name, std::move(function))));
  };
  return {
      make("range", Range),
      make("namespace",
           [](const CallArgs& args) -> StatusOr<Value> {
             ASSIGN_OR_RETURN(auto entries, Entries(args, "namespace"));
             auto ns = std::make_shared<Namespace>();
             for (auto& [key, value] : entries) ns->attributes[key] = std::move(value);
             return Value::MakeNamespace(std::move(ns));
           }),
      make("dict",
           [](const CallArgs& args) -> StatusOr<Value> {
             ASSIGN_OR_RETURN(auto entries, Entries(args, "dict"));
             return Value::MakeDict(std::move(entries));
           }),
      make("raise_exception",
           [](const CallArgs& args) -> StatusOr<Value> {
             ASSIGN_OR_RETURN(auto bound, BindArgs(args, {"message"}, "raise_exception"));
             return FailedPreconditionError("raise_exception: " +
                                            (bound[0] ? ToStr(*bound[0]) : std::string()));
           }),
      make("strftime_now", StrftimeNow),
  };
}

}  // namespace lightrl::jinja
