#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/jinja_text.h"

namespace lightrl::jinja {

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [name, value] : entries) {
    if (name == key) return &value;
  }
  return nullptr;
}

Value Value::MakeList(std::vector<Value> items, bool is_tuple) {
  return Value(std::shared_ptr<const List>(new List{std::move(items), is_tuple}));
}

Value Value::MakeDict(std::vector<std::pair<std::string, Value>> entries) {
  return Value(std::shared_ptr<const Dict>(new Dict{std::move(entries)}));
}

Value Value::FromJson(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return None();
    case nlohmann::ordered_json::value_t::boolean:
      return Bool(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Int(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Int(static_cast<int64_t>(json.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float:
      return Float(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return String(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(FromJson(item));
      return MakeList(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      std::vector<std::pair<std::string, Value>> entries;
      entries.reserve(json.size());
      for (const auto& [key, item] : json.items()) entries.emplace_back(key, FromJson(item));
      return MakeDict(std::move(entries));
    }
    default:
      return None();  // Binary and discarded values do not come from JSON text.
  }
}

bool Value::is_number() const {
  return kind() == Kind::kInt || kind() == Kind::kFloat || kind() == Kind::kBool;
}

double Value::number() const {
  switch (kind()) {
    case Kind::kBool:
      return as_bool() ? 1 : 0;
    case Kind::kInt:
      return static_cast<double>(as_int());
    default:
      return as_float();
  }
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int() != 0;
    case Kind::kFloat:
      return as_float() != 0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !as_list().items.empty();
    case Kind::kDict:
      return !as_dict().entries.empty();
    default:
      return true;
  }
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return as_list().is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
  }
  return "";
}

bool Equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() != Value::Kind::kFloat && b.kind() != Value::Kind::kFloat) {
      auto integer = [](const Value& v) {
        return v.kind() == Value::Kind::kBool ? int64_t{v.as_bool()} : v.as_int();
      };
      return integer(a) == integer(b);
    }
    return a.number() == b.number();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      const List& x = a.as_list();
      const List& y = b.as_list();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!Equal(x.items[i], y.items[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.entries.size() != y.entries.size()) return false;
      return std::all_of(x.entries.begin(), x.entries.end(), [&](const auto& entry) {
        const Value* other = y.Find(entry.first);
        return other != nullptr && Equal(entry.second, *other);
      });
    }
    case Value::Kind::kNamespace:
      return &a.as_namespace() == &b.as_namespace();
    case Value::Kind::kCallable:
      return &a.as_callable() == &b.as_callable();
    default:
      return false;
  }
}

StatusOr<bool> Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() != Value::Kind::kFloat && b.kind() != Value::Kind::kFloat) {
      auto integer = [](const Value& v) {
        return v.kind() == Value::Kind::kBool ? int64_t{v.as_bool()} : v.as_int();
      };
      return integer(a) < integer(b);
    }
    return a.number() < b.number();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 order.
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const std::vector<Value>& x = a.as_list().items;
    const std::vector<Value>& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equal(x[i], y[i])) continue;
      return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return InvalidArgumentError("'<' not supported between instances of '" + a.TypeName() +
                              "' and '" + b.TypeName() + "'");
}

StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) {
        return InvalidArgumentError("'in <string>' requires string as left operand, not " +
                                    item.TypeName());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().Find(item.as_string());
    case Value::Kind::kList: {
      const std::vector<Value>& items = container.as_list().items;
      return std::any_of(items.begin(), items.end(),
                         [&](const Value& v) { return Equal(v, item); });
    }
    default:
      return InvalidArgumentError("argument of type '" + container.TypeName() +
                                  "' is not iterable");
  }
}

StatusOr<std::vector<std::optional<Value>>> BindArgs(const CallArgs& args,
                                                     std::initializer_list<std::string_view> names,
                                                     std::string_view what) {
  std::vector<std::optional<Value>> bound(names.size());
  if (args.positional.size() > names.size()) {
    return InvalidArgumentError(std::string(what) + "() takes " + std::to_string(names.size()) +
                                " arguments but " + std::to_string(args.positional.size()) +
                                " were given");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound[i] = args.positional[i];
  for (const auto& [keyword, value] : args.keyword) {
    const auto found = std::find(names.begin(), names.end(), keyword);
    if (found == names.end()) {
      return InvalidArgumentError(std::string(what) + "() got an unexpected keyword argument '" +
                                  keyword + "'");
    }
    bound[found - names.begin()] = value;
  }
  return bound;
}

StatusOr<std::vector<Value>> Iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return std::vector<Value>();
    case Value::Kind::kList:
      return value.as_list().items;
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (std::string_view cp : CodePoints(value.as_string())) {
        chars.push_back(Value::String(std::string(cp)));
      }
      return chars;
    }
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& entry : value.as_dict().entries) keys.push_back(Value::String(entry.first));
      return keys;
    }
    default:
      return InvalidArgumentError("'" + value.TypeName() + "' object is not iterable");
  }
}

}  // namespace lightrl::jinja
