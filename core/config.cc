#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace lightrl {

struct ConfigNode::Impl {
  std::shared_ptr<const std::string> file;
  YAML::Node node;
};

namespace {

std::string JoinPath(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  std::string out(base);
  out += '.';
  out += key;
  return out;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Converts a scalar node to T; false when it is not a scalar of that type.
template <typename T>
bool ConvertScalar(const YAML::Node& node, T* out) {
  if (!node.IsScalar()) return false;
  try {
    *out = node.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

template <typename T>
constexpr std::string_view TypeName() {
  if constexpr (std::is_same_v<T, std::string>) {
    return "a string";
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return "an integer";
  } else if constexpr (std::is_same_v<T, double>) {
    return "a number";
  } else {
    return "true or false";
  }
}

Status ApplyOverride(const std::string& file, YAML::Node root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgumentError(file + ": override '" + assignment +
                                "': expected dotted.key=value");
  }
  std::string key = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(file + ": override '" + assignment + "': " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream stream(key);
  for (std::string part; std::getline(stream, part, '.');) {
    if (part.empty()) {
      return InvalidArgumentError(file + ": override '" + assignment + "': empty key segment");
    }
    parts.push_back(part);
  }
  try {
    YAML::Node node = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = node[parts[i]];
      if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
        return InvalidArgumentError(file + ": override '" + assignment + "': " + parts[i] +
                                    " is not a mapping");
      }
      if (!next.IsDefined() || next.IsNull()) next = YAML::Node(YAML::NodeType::Map);
      node[parts[i]] = next;
      node.reset(next);
    }
    node[parts.back()] = value;
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(file + ": override '" + assignment + "': " + e.msg);
  }
  return Status::Ok();
}

}  // namespace

ConfigNode::ConfigNode(std::shared_ptr<const Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

StatusOr<ConfigNode> ConfigNode::LoadFile(const std::string& path,
                                          const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": cannot open config file");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return NotFoundError(path + ": cannot read config file");
  return LoadString(text.str(), path, overrides);
}

StatusOr<ConfigNode> ConfigNode::LoadString(std::string_view yaml, std::string source_name,
                                            const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source_name + ": line " + std::to_string(e.mark.line + 1) +
                                ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return InvalidArgumentError(source_name + ": the top level must be a mapping, got " +
                                Describe(root));
  }
  for (const std::string& assignment : overrides) {
    RETURN_IF_ERROR(ApplyOverride(source_name, root, assignment));
  }
  auto impl = std::make_shared<Impl>();
  impl->file = std::make_shared<const std::string>(std::move(source_name));
  impl->node = root;
  return ConfigNode(std::move(impl), "");
}

const std::string& ConfigNode::file() const { return *impl_->file; }

std::string ConfigNode::KeyPath(std::string_view key) const { return JoinPath(path_, key); }

Status ConfigNode::Error(std::string_view key, std::string_view reason) const {
  std::string message = file() + ": ";
  std::string key_path = KeyPath(key);
  message += key_path.empty() ? std::string("(top level)") : key_path;
  message += ": ";
  message += reason;
  return InvalidArgumentError(std::move(message));
}

bool ConfigNode::Has(std::string_view key) const {
  const YAML::Node& node = impl_->node;
  YAML::Node child = node[std::string(key)];
  return child.IsDefined() && !child.IsNull();
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> keys;
  for (const auto& entry : impl_->node) keys.push_back(entry.first.as<std::string>());
  return keys;
}

StatusOr<ConfigNode> ConfigNode::Child(std::string_view key) const {
  if (!Has(key)) return Error(key, "required section is missing");
  return OptionalChild(key);
}

StatusOr<ConfigNode> ConfigNode::OptionalChild(std::string_view key) const {
  auto impl = std::make_shared<Impl>();
  impl->file = impl_->file;
  const YAML::Node& node = impl_->node;
  YAML::Node child = node[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) {
    impl->node = YAML::Node(YAML::NodeType::Map);
  } else if (!child.IsMap()) {
    return Error(key, "must be a mapping, got " + Describe(child));
  } else {
    impl->node = child;
  }
  return ConfigNode(std::move(impl), KeyPath(key));
}

StatusOr<std::vector<ConfigNode>> ConfigNode::ChildList(std::string_view key, bool required) const {
  std::vector<ConfigNode> out;
  if (!Has(key)) {
    if (required) return Error(key, "required list is missing");
    return out;
  }
  const YAML::Node& node = impl_->node;
  YAML::Node list = node[std::string(key)];
  if (!list.IsSequence()) return Error(key, "must be a list, got " + Describe(list));
  for (size_t i = 0; i < list.size(); ++i) {
    std::string item_path = KeyPath(key) + "[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) {
      return InvalidArgumentError(file() + ": " + item_path + ": must be a mapping, got " +
                                  Describe(list[i]));
    }
    auto impl = std::make_shared<Impl>();
    impl->file = impl_->file;
    impl->node = list[i];
    out.push_back(ConfigNode(std::move(impl), item_path));
  }
  return out;
}

Status ConfigNode::ExpectOnlyKeys(std::initializer_list<std::string_view> allowed) const {
  return ExpectOnlyKeys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

Status ConfigNode::ExpectOnlyKeys(std::span<const std::string_view> allowed) const {
  for (const std::string& key : Keys()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (std::string_view k : allowed) {
        if (!known.empty()) known += ", ";
        known += k;
      }
      return Error(key, "unknown key (known keys here: " + known + ")");
    }
  }
  return Status::Ok();
}

namespace {

template <typename T>
Status ReadScalar(const ConfigNode& self, const YAML::Node& map, std::string_view key, T* out,
                  bool required) {
  YAML::Node child = map[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) {
    return required ? self.Error(key, "required key is missing") : Status::Ok();
  }
  T value;
  if (!ConvertScalar(child, &value)) {
    return self.Error(key, "must be " + std::string(TypeName<T>()) + ", got " + Describe(child));
  }
  *out = std::move(value);
  return Status::Ok();
}

template <typename T>
Status ReadList(const ConfigNode& self, const YAML::Node& map, std::string_view key,
                std::vector<T>* out) {
  YAML::Node child = map[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) return Status::Ok();
  if (!child.IsSequence()) {
    return self.Error(
        key, "must be a list of " + std::string(TypeName<T>()) + "s, got " + Describe(child));
  }
  std::vector<T> values;
  for (size_t i = 0; i < child.size(); ++i) {
    T value;
    if (!ConvertScalar(child[i], &value)) {
      return self.Error(std::string(key) + "[" + std::to_string(i) + "]",
                        "must be " + std::string(TypeName<T>()) + ", got " + Describe(child[i]));
    }
    values.push_back(std::move(value));
  }
  *out = std::move(values);
  return Status::Ok();
}

}  // namespace

Status ConfigNode::Required(std::string_view key, std::string* out) const {
  return ReadScalar(*this, impl_->node, key, out, true);
}
Status ConfigNode::Required(std::string_view key, int64_t* out) const {
  return ReadScalar(*this, impl_->node, key, out, true);
}
Status ConfigNode::Required(std::string_view key, double* out) const {
  return ReadScalar(*this, impl_->node, key, out, true);
}
Status ConfigNode::Required(std::string_view key, bool* out) const {
  return ReadScalar(*this, impl_->node, key, out, true);
}
Status ConfigNode::Optional(std::string_view key, std::string* out) const {
  return ReadScalar(*this, impl_->node, key, out, false);
}
Status ConfigNode::Optional(std::string_view key, int64_t* out) const {
  return ReadScalar(*this, impl_->node, key, out, false);
}
Status ConfigNode::Optional(std::string_view key, double* out) const {
  return ReadScalar(*this, impl_->node, key, out, false);
}
Status ConfigNode::Optional(std::string_view key, bool* out) const {
  return ReadScalar(*this, impl_->node, key, out, false);
}
Status ConfigNode::Optional(std::string_view key, std::vector<std::string>* out) const {
  return ReadList(*this, impl_->node, key, out);
}
Status ConfigNode::Optional(std::string_view key, std::vector<int64_t>* out) const {
  return ReadList(*this, impl_->node, key, out);
}
Status ConfigNode::Optional(std::string_view key, std::vector<double>* out) const {
  return ReadList(*this, impl_->node, key, out);
}

Status ConfigNode::Optional(std::string_view key, int64_t* out, int64_t min, int64_t max) const {
  int64_t value = *out;
  RETURN_IF_ERROR(Optional(key, &value));
  if (value < min || value > max) {
    return Error(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                          "], got " + std::to_string(value));
  }
  *out = value;
  return Status::Ok();
}

Status ConfigNode::Optional(std::string_view key, int* out, int64_t min, int64_t max) const {
  int64_t value = *out;
  RETURN_IF_ERROR(Optional(key, &value, min, max));
  *out = static_cast<int>(value);
  return Status::Ok();
}

Status ConfigNode::Optional(std::string_view key, double* out, double min, double max) const {
  double value = *out;
  RETURN_IF_ERROR(Optional(key, &value));
  if (!(value >= min && value <= max)) {
    std::ostringstream reason;
    reason << "must be in [" << min << ", " << max << "], got " << value;
    return Error(key, reason.str());
  }
  *out = value;
  return Status::Ok();
}

Status ConfigNode::OptionalChoice(std::string_view key, std::string* out,
                                  std::initializer_list<std::string_view> choices) const {
  std::string value = *out;
  RETURN_IF_ERROR(Optional(key, &value));
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    std::string known;
    for (std::string_view c : choices) {
      if (!known.empty()) known += ", ";
      known += c;
    }
    return Error(key, "must be one of " + known + ", got '" + value + "'");
  }
  *out = value;
  return Status::Ok();
}

}  // namespace lightrl
