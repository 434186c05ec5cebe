#include "tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"
#include "tokenizer/jinja_value.h"

namespace lightrl {
namespace {

constexpr std::string_view kSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                               "pad_token", "cls_token", "mask_token"};

// A special token's text: a string, or an AddedToken object's content; null otherwise.
nlohmann::ordered_json TokenString(const nlohmann::ordered_json& entry) {
  if (entry.is_string()) return entry;
  if (entry.is_object() && entry.contains("content") && entry["content"].is_string()) {
    return entry["content"];
  }
  return nullptr;
}

}  // namespace

StatusOr<ChatTemplate> ChatTemplate::Parse(std::string_view source, std::string_view name) {
  ASSIGN_OR_RETURN(std::vector<jinja::Token> tokens, jinja::Lex(source, name));
  ASSIGN_OR_RETURN(jinja::Body body, jinja::Parse(tokens, name));
  return ChatTemplate(std::make_shared<const jinja::Body>(std::move(body)), std::string(name));
}

StatusOr<ChatTemplate> ChatTemplate::FromConfig(const nlohmann::ordered_json& config,
                                                std::string_view path,
                                                std::string_view template_name) {
  const std::string where(path);
  if (!config.is_object() || !config.contains("chat_template")) {
    return InvalidArgumentError(where + ": no 'chat_template' key");
  }
  const nlohmann::ordered_json& entry = config["chat_template"];
  std::string name = where + ":chat_template";
  const nlohmann::ordered_json* source = nullptr;
  if (entry.is_string()) {
    source = &entry;
  } else if (entry.is_array()) {
    for (const auto& named : entry) {
      if (named.is_object() && named.value("name", "") == template_name &&
          named.contains("template") && named["template"].is_string()) {
        source = &named["template"];
      }
    }
    if (source == nullptr) {
      return InvalidArgumentError(where + ": chat_template has no template named '" +
                                  std::string(template_name) + "'");
    }
    name += "[" + std::string(template_name) + "]";
  } else {
    return InvalidArgumentError(where + ": chat_template is neither a string nor a list");
  }
  ASSIGN_OR_RETURN(ChatTemplate chat, Parse(source->get<std::string>(), name));
  nlohmann::ordered_json tokens = nlohmann::ordered_json::object();
  for (std::string_view key : kSpecialTokens) {
    const auto found = config.find(std::string(key));
    if (found == config.end()) continue;
    nlohmann::ordered_json token = TokenString(*found);
    if (!token.is_null()) tokens[std::string(key)] = std::move(token);
  }
  if (config.contains("additional_special_tokens") &&
      config["additional_special_tokens"].is_array()) {
    nlohmann::ordered_json additional = nlohmann::ordered_json::array();
    for (const auto& token : config["additional_special_tokens"]) {
      additional.push_back(TokenString(token));
    }
    tokens["additional_special_tokens"] = std::move(additional);
  }
  chat.set_special_tokens(std::move(tokens));
  return chat;
}

StatusOr<ChatTemplate> ChatTemplate::FromConfigFile(const std::string& path,
                                                    std::string_view template_name) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError(path + ": cannot be read");
  std::stringstream text;
  text << file.rdbuf();
  nlohmann::ordered_json config =
      nlohmann::ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return InvalidArgumentError(path + ": not valid JSON");
  return FromConfig(config, path, template_name);
}

StatusOr<std::string> ChatTemplate::Render(const ChatInput& input) const {
  nlohmann::ordered_json context = special_tokens_;
  context["messages"] = input.messages;
  context["tools"] = input.tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = input.add_generation_prompt;
  for (const auto& [key, value] : input.extra.items()) context[key] = value;
  return jinja::Render(*body_, jinja::Value::FromJson(context), name_);
}

}  // namespace lightrl
