// Attribute and item access, the methods of strings, dicts and lists, and the global functions
// of the Jinja interpreter, with Jinja2's semantics (transformers' sandboxed environment).
//
//   str:  startswith endswith strip lstrip rstrip split splitlines replace upper lower title
//         capitalize join find
//   dict: get items keys values
//   list: index count
//   globals: range namespace dict raise_exception strftime_now
//
// Any other Python method of these types is an error ("method 'str.zfill' is not supported");
// an attribute that is no method and no key is undefined, as in Jinja2. Errors carry no location;
// the interpreter adds it.
//
// Thread-safety: pure functions; the values returned share nothing mutable.
#ifndef LIGHTRL_TOKENIZER_JINJA_METHODS_H_
#define LIGHTRL_TOKENIZER_JINJA_METHODS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/jinja_value.h"

namespace lightrl::jinja {

// object.name: a method first, then a dict's key or a namespace's attribute.
StatusOr<Value> GetAttribute(const Value& object, std::string_view name);
// object[key]: a dict's key (then a method), a list's or string's index (negative from the end).
StatusOr<Value> GetItem(const Value& object, const Value& key);
// object[start:stop:step] of a list or a string, as Python slices.
StatusOr<Value> GetSlice(const Value& object, const std::optional<Value>& start,
                         const std::optional<Value>& stop, const std::optional<Value>& step);

// The global functions every render sees (a context variable of the same name hides one).
std::vector<std::pair<std::string, Value>> Globals();

}  // namespace lightrl::jinja

#endif  // LIGHTRL_TOKENIZER_JINJA_METHODS_H_
