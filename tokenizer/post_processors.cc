#include "tokenizer/post_processors.h"

#include <map>
#include <string>

namespace lightrl::tokenizer {
namespace {

// The ids of each entry of "special_tokens".
StatusOr<std::map<std::string, std::vector<TokenId>>> LoadSpecialTokens(const JsonNode& node) {
  RETURN_IF_ERROR(node.ExpectObject());
  std::map<std::string, std::vector<TokenId>> ids_by_name;
  for (const auto& [name, unused] : node.value().items()) {
    ASSIGN_OR_RETURN(const JsonNode entry, node.Child(name));
    RETURN_IF_ERROR(entry.CheckKeys({"id", "ids", "tokens"}));
    ASSIGN_OR_RETURN(const JsonNode ids_node, entry.Child("ids"));
    ASSIGN_OR_RETURN(const size_t count, ids_node.ArraySize());
    std::vector<TokenId>& ids = ids_by_name[name];
    for (size_t i = 0; i < count; ++i) {
      ASSIGN_OR_RETURN(const int64_t id, ids_node.Element(i).AsInt());
      if (id < 0 || id > INT32_MAX - 1) return ids_node.Element(i).Error("id out of range");
      ids.push_back(static_cast<TokenId>(id));
    }
  }
  return ids_by_name;
}

Status CheckTemplate(const JsonNode& pieces,
                     const std::map<std::string, std::vector<TokenId>>& special, bool single,
                     SpecialTokenFrame* frame) {
  ASSIGN_OR_RETURN(const size_t size, pieces.ArraySize());
  bool seen_sequence = false;
  for (size_t i = 0; i < size; ++i) {
    const JsonNode piece = pieces.Element(i);
    RETURN_IF_ERROR(piece.CheckKeys({"SpecialToken", "Sequence"}));
    if (piece.value().size() != 1) return piece.Error("expected \"SpecialToken\" or \"Sequence\"");
    if (piece.Has("Sequence")) {
      ASSIGN_OR_RETURN(const JsonNode sequence, piece.Child("Sequence"));
      RETURN_IF_ERROR(sequence.CheckKeys({"id", "type_id"}));
      const nlohmann::json& id = sequence.ChildOrNull("id").value();
      if (id != "A" && id != "B") return sequence.Error("unknown sequence " + id.dump());
      if (single && (id != "A" || seen_sequence)) {
        return sequence.Error("the single template must hold sequence A once");
      }
      seen_sequence = true;
      continue;
    }
    ASSIGN_OR_RETURN(const JsonNode token, piece.Child("SpecialToken"));
    RETURN_IF_ERROR(token.CheckKeys({"id", "type_id"}));
    ASSIGN_OR_RETURN(const std::string id, token.String("id"));
    const auto it = special.find(id);
    if (it == special.end()) return token.Error("\"" + id + "\" is not in special_tokens");
    if (frame != nullptr) {
      auto& target = seen_sequence ? frame->after : frame->before;
      target.insert(target.end(), it->second.begin(), it->second.end());
    }
  }
  if (single && !seen_sequence) return pieces.Error("the single template must hold sequence A");
  return Status::Ok();
}

Status Load(const JsonNode& node, bool& seen_template, SpecialTokenFrame& frame) {
  RETURN_IF_ERROR(node.ExpectObject());
  ASSIGN_OR_RETURN(const std::string type, node.Type());
  if (type == "ByteLevel") {
    return node.CheckKeys({"add_prefix_space", "trim_offsets", "use_regex"});
  }
  if (type == "TemplateProcessing") {
    RETURN_IF_ERROR(node.CheckKeys({"single", "pair", "special_tokens"}));
    if (seen_template) return node.Error("a second TemplateProcessing is not supported");
    seen_template = true;
    ASSIGN_OR_RETURN(const JsonNode special_node, node.Child("special_tokens"));
    ASSIGN_OR_RETURN(const auto special, LoadSpecialTokens(special_node));
    ASSIGN_OR_RETURN(const JsonNode single, node.Child("single"));
    RETURN_IF_ERROR(CheckTemplate(single, special, /*single=*/true, &frame));
    const JsonNode pair = node.ChildOrNull("pair");
    if (!pair.IsNull()) RETURN_IF_ERROR(CheckTemplate(pair, special, /*single=*/false, nullptr));
    return Status::Ok();
  }
  if (type == "Sequence") {
    RETURN_IF_ERROR(node.CheckKeys({"processors"}));
    ASSIGN_OR_RETURN(const JsonNode list, node.Child("processors"));
    ASSIGN_OR_RETURN(const size_t size, list.ArraySize());
    for (size_t i = 0; i < size; ++i) RETURN_IF_ERROR(Load(list.Element(i), seen_template, frame));
    return Status::Ok();
  }
  return node.Error("unknown post-processor type \"" + type + "\"");
}

}  // namespace

StatusOr<SpecialTokenFrame> LoadPostProcessor(const JsonNode& node) {
  SpecialTokenFrame frame;
  if (node.IsNull()) return frame;
  bool seen_template = false;
  RETURN_IF_ERROR(Load(node, seen_template, frame));
  return frame;
}

}  // namespace lightrl::tokenizer
