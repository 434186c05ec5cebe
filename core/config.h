// Reading one YAML config file into typed structs, with errors that name file, key and reason.
//
// Every module owns its config struct and a parse function written against ConfigNode:
//
//   Status ParseHeartbeatConfig(const ConfigNode& node, HeartbeatConfig* out) {
//     RETURN_IF_ERROR(node.ExpectOnlyKeys({"interval_ms", "dead_after_ms"}));
//     RETURN_IF_ERROR(node.Optional("interval_ms", &out->interval_ms, 1, 60000));
//     ...
//   }
//
// Each error message reads "<file>: <dotted.key>: <reason>", e.g.
//   "run.yaml: actors.heartbeat.interval_ms: must be in [1, 60000], got 0".
// Unknown keys are errors too (they are almost always typos).
//
// yaml-cpp is used only inside config.cc; its exceptions never escape.
// Thread-safety: a ConfigNode is immutable after loading and safe to read from any thread.
#ifndef LIGHTRL_CORE_CONFIG_H_
#define LIGHTRL_CORE_CONFIG_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl {

class ConfigNode {
 public:
  // Parses `path`. `overrides` are "dotted.key=value" assignments (from command-line flags)
  // applied on top of the file; value is parsed as a YAML scalar or flow sequence/map.
  // Errors: NotFound (file missing or unreadable), InvalidArgument (bad YAML with line/column,
  // a root that is not a mapping, a malformed override).
  static StatusOr<ConfigNode> LoadFile(const std::string& path,
                                       const std::vector<std::string>& overrides = {});
  // As LoadFile, for text already in memory; `source_name` stands in for the file name.
  static StatusOr<ConfigNode> LoadString(std::string_view yaml, std::string source_name,
                                         const std::vector<std::string>& overrides = {});

  // True when `key` is present (and not null).
  bool Has(std::string_view key) const;
  // The keys of this mapping, in file order.
  std::vector<std::string> Keys() const;

  // A nested mapping. Required: errors when missing or not a mapping. Optional: an empty
  // mapping (reads return defaults) when missing; still errors when present but not a mapping.
  StatusOr<ConfigNode> Child(std::string_view key) const;
  StatusOr<ConfigNode> OptionalChild(std::string_view key) const;
  // A sequence of mappings (e.g. a list of tasks); empty when missing if `required` is false.
  StatusOr<std::vector<ConfigNode>> ChildList(std::string_view key, bool required) const;

  // Errors with InvalidArgument if this mapping has a key outside `allowed`.
  Status ExpectOnlyKeys(std::initializer_list<std::string_view> allowed) const;
  Status ExpectOnlyKeys(std::span<const std::string_view> allowed) const;

  // Required scalar reads: error when the key is missing or the value has the wrong type.
  Status Required(std::string_view key, std::string* out) const;
  Status Required(std::string_view key, int64_t* out) const;
  Status Required(std::string_view key, double* out) const;
  Status Required(std::string_view key, bool* out) const;

  // Optional reads: leave *out (the default) untouched when the key is missing.
  Status Optional(std::string_view key, std::string* out) const;
  Status Optional(std::string_view key, int64_t* out) const;
  Status Optional(std::string_view key, double* out) const;
  Status Optional(std::string_view key, bool* out) const;
  Status Optional(std::string_view key, std::vector<std::string>* out) const;
  Status Optional(std::string_view key, std::vector<int64_t>* out) const;
  Status Optional(std::string_view key, std::vector<double>* out) const;
  // Range-checked optional reads (bounds inclusive).
  Status Optional(std::string_view key, int64_t* out, int64_t min, int64_t max) const;
  Status Optional(std::string_view key, int* out, int64_t min, int64_t max) const;
  Status Optional(std::string_view key, double* out, double min, double max) const;
  // An optional string that must be one of `choices`.
  Status OptionalChoice(std::string_view key, std::string* out,
                        std::initializer_list<std::string_view> choices) const;

  // An InvalidArgument status "<file>: <path>.<key>: <reason>" for checks done by the caller.
  Status Error(std::string_view key, std::string_view reason) const;

  const std::string& file() const;
  // Dotted path of this node from the root ("" for the root).
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  ConfigNode(std::shared_ptr<const Impl> impl, std::string path);
  std::string KeyPath(std::string_view key) const;

  std::shared_ptr<const Impl> impl_;
  std::string path_;
};

}  // namespace lightrl

#endif  // LIGHTRL_CORE_CONFIG_H_
