#include "tokenizer/json_node.h"

#include <utility>

namespace lightrl::tokenizer {
namespace {

const nlohmann::json& Null() {
  static const nlohmann::json null;
  return null;
}

}  // namespace

JsonNode::JsonNode(const nlohmann::json& root, std::string file)
    : value_(&root), file_(std::make_shared<const std::string>(std::move(file))) {}

JsonNode::JsonNode(const nlohmann::json* value, std::shared_ptr<const std::string> file,
                   std::string path)
    : value_(value), file_(std::move(file)), path_(std::move(path)) {}

bool JsonNode::Has(std::string_view key) const {
  return value_->is_object() && value_->contains(key);
}

Status JsonNode::Error(std::string_view message) const {
  std::string text = *file_ + ": ";
  if (!path_.empty()) text += path_ + ": ";
  text += message;
  return InvalidArgumentError(std::move(text));
}

JsonNode JsonNode::Member(std::string_view key, const nlohmann::json* value) const {
  std::string path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return JsonNode(value, file_, std::move(path));
}

StatusOr<JsonNode> JsonNode::Child(std::string_view key) const {
  if (!value_->is_object()) return Error("expected an object");
  const auto it = value_->find(key);
  if (it == value_->end()) return Error("missing \"" + std::string(key) + "\"");
  return Member(key, &*it);
}

JsonNode JsonNode::ChildOrNull(std::string_view key) const {
  if (value_->is_object()) {
    const auto it = value_->find(key);
    if (it != value_->end()) return Member(key, &*it);
  }
  return Member(key, &Null());
}

JsonNode JsonNode::Element(size_t index) const {
  return JsonNode(&(*value_)[index], file_, path_ + "[" + std::to_string(index) + "]");
}

StatusOr<std::string> JsonNode::AsString() const {
  if (!value_->is_string()) return Error("expected a string");
  return value_->get<std::string>();
}

StatusOr<int64_t> JsonNode::AsInt() const {
  if (!value_->is_number_integer()) return Error("expected an integer");
  return value_->get<int64_t>();
}

StatusOr<size_t> JsonNode::ArraySize() const {
  if (!value_->is_array()) return Error("expected an array");
  return value_->size();
}

Status JsonNode::ExpectObject() const {
  return value_->is_object() ? Status::Ok() : Error("expected an object");
}

StatusOr<std::string> JsonNode::String(std::string_view key) const {
  ASSIGN_OR_RETURN(JsonNode child, Child(key));
  return child.AsString();
}

StatusOr<std::string> JsonNode::OptionalString(std::string_view key,
                                               std::string_view fallback) const {
  const JsonNode child = ChildOrNull(key);
  if (child.IsNull()) return std::string(fallback);
  return child.AsString();
}

StatusOr<bool> JsonNode::Bool(std::string_view key) const {
  ASSIGN_OR_RETURN(JsonNode child, Child(key));
  if (!child.value().is_boolean()) return child.Error("expected true or false");
  return child.value().get<bool>();
}

StatusOr<bool> JsonNode::OptionalBool(std::string_view key, bool fallback) const {
  const JsonNode child = ChildOrNull(key);
  if (child.IsNull()) return fallback;
  if (!child.value().is_boolean()) return child.Error("expected true or false");
  return child.value().get<bool>();
}

StatusOr<int64_t> JsonNode::Int(std::string_view key) const {
  ASSIGN_OR_RETURN(JsonNode child, Child(key));
  return child.AsInt();
}

Status JsonNode::CheckKeys(std::initializer_list<std::string_view> known) const {
  RETURN_IF_ERROR(ExpectObject());
  for (const auto& [key, unused] : value_->items()) {
    bool found = key == "type";
    for (std::string_view name : known) found = found || key == name;
    if (!found) return Error("unsupported option \"" + key + "\"");
  }
  return Status::Ok();
}

}  // namespace lightrl::tokenizer
