// JsonNode: one value of a tokenizer.json and where it sits, so that every load error names the
// file and the JSON path of the item ("tokenizer.json: pre_tokenizer.pretokenizers[1]: unknown
// type \"Foo\"").
//
// A JsonNode refers to the parsed document and shares the file name; it must not outlive the
// document. Thread-safety: const methods only read.
#ifndef LIGHTRL_TOKENIZER_JSON_NODE_H_
#define LIGHTRL_TOKENIZER_JSON_NODE_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lightrl::tokenizer {

class JsonNode {
 public:
  // The document's root; `file` names it in errors.
  JsonNode(const nlohmann::json& root, std::string file);

  const nlohmann::json& value() const { return *value_; }
  // The JSON path from the root ("model.merges[3]"); empty for the root.
  const std::string& path() const { return path_; }
  bool IsNull() const { return value_->is_null(); }
  bool Has(std::string_view key) const;

  // InvalidArgument "<file>: <path>: <message>" (or "<file>: <message>" at the root).
  Status Error(std::string_view message) const;

  // The member `key`; an error when it is missing.
  StatusOr<JsonNode> Child(std::string_view key) const;
  // The member `key`, or a null node when it is missing.
  JsonNode ChildOrNull(std::string_view key) const;
  // Element `index` of an array (the caller checks the bounds).
  JsonNode Element(size_t index) const;

  // Typed members. Required ones fail when missing or of another type; Optional ones give
  // `fallback` when the member is missing or null.
  StatusOr<std::string> String(std::string_view key) const;
  StatusOr<std::string> OptionalString(std::string_view key, std::string_view fallback) const;
  StatusOr<bool> Bool(std::string_view key) const;
  StatusOr<bool> OptionalBool(std::string_view key, bool fallback) const;
  StatusOr<int64_t> Int(std::string_view key) const;

  // This node as a value of its own; errors name the node.
  StatusOr<std::string> AsString() const;
  StatusOr<int64_t> AsInt() const;
  // Checks that this node is an array (and returns its size) or an object.
  StatusOr<size_t> ArraySize() const;
  Status ExpectObject() const;

  // The "type" member of a component.
  StatusOr<std::string> Type() const { return String("type"); }
  // An error naming the first member that is not in `known` ("type" is always known): a
  // component option this library does not implement is refused, never ignored.
  Status CheckKeys(std::initializer_list<std::string_view> known) const;

 private:
  JsonNode(const nlohmann::json* value, std::shared_ptr<const std::string> file, std::string path);
  JsonNode Member(std::string_view key, const nlohmann::json* value) const;

  const nlohmann::json* value_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

}  // namespace lightrl::tokenizer

#endif  // LIGHTRL_TOKENIZER_JSON_NODE_H_
