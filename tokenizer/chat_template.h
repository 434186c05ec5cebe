// Chat templates: the Jinja `chat_template` of a Hugging Face tokenizer_config.json, parsed once
// and rendered for any conversation with the text transformers' apply_chat_template gives
// (Jinja2 with trim_blocks and lstrip_blocks on, keep_trailing_newline off, tojson as
// json.dumps without ASCII escaping), byte for byte.
//
//   ASSIGN_OR_RETURN(ChatTemplate chat, ChatTemplate::FromConfigFile(dir +
//   "/tokenizer_config.json")); ChatInput input; input.messages = {{{"role", "user"}, {"content",
//   "Hi"}}}; input.add_generation_prompt = true; input.extra["enable_thinking"] = false;
//   ASSIGN_OR_RETURN(std::string prompt, chat.Render(input));
//
// The template sees what apply_chat_template passes: the special tokens (bos_token, eos_token,
// unk_token, sep_token, pad_token, cls_token, mask_token where the config sets them, and
// additional_special_tokens), `messages`, `tools` (none when absent), `documents` (none),
// `add_generation_prompt`, then the extra variables, which override all of these; and the
// globals range, namespace, dict, raise_exception and strftime_now.
//
// The Jinja subset and its limits are listed in jinja_parser.h (statements), jinja_filters.h
// (filters and tests) and jinja_methods.h (methods). Anything outside it is an error naming the
// construct and its line, at parse time where the parser can see it ("chat_template:12: filter
// 'wordwrap' is not supported", kUnimplemented), else at render time; never text that differs
// silently. A template's own raise_exception is kFailedPrecondition with its message
// ("chat_template:20: raise_exception: Conversation roles must alternate ..."); other render
// errors (a type error, an undefined value used) are kInvalidArgument.
//
// Thread-safety: a parsed ChatTemplate is immutable; Render may run from many threads at once.
#ifndef LIGHTRL_TOKENIZER_CHAT_TEMPLATE_H_
#define LIGHTRL_TOKENIZER_CHAT_TEMPLATE_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl {

namespace jinja {
struct Node;
}  // namespace jinja

// One render's input. JSON keeps the key order a template's tojson writes back.
struct ChatInput {
  // Each message: role, content (a string, or a list of parts such as {"type": "text", "text":
  // ...}), and whatever else templates read: tool_calls ([{"id", "type", "function": {"name",
  // "arguments"}}]), tool_call_id, name, reasoning_content, ...
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // A list of JSON schemas; null: none.
  bool add_generation_prompt = false;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // e.g. enable_thinking.
};

class ChatTemplate {
 public:
  // Parses template text; `name` starts every message ("chat_template:12: ...").
  static StatusOr<ChatTemplate> Parse(std::string_view source,
                                      std::string_view name = "chat_template");
  // The chat_template of a tokenizer config (a string, or a list of {"name", "template"} of
  // which `template_name` is taken) and its special tokens (a string, or an AddedToken object's
  // "content"). Messages name the file: "<path>:chat_template:12: ...".
  static StatusOr<ChatTemplate> FromConfig(const nlohmann::ordered_json& config,
                                           std::string_view path,
                                           std::string_view template_name = "default");
  static StatusOr<ChatTemplate> FromConfigFile(const std::string& path,
                                               std::string_view template_name = "default");

  // The special-token variables every render sees (an object); FromConfig fills them.
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }
  void set_special_tokens(nlohmann::ordered_json tokens) { special_tokens_ = std::move(tokens); }

  StatusOr<std::string> Render(const ChatInput& input) const;

 private:
  ChatTemplate(std::shared_ptr<const std::vector<std::unique_ptr<const jinja::Node>>> body,
               std::string name)
      : body_(std::move(body)), name_(std::move(name)) {}

  std::shared_ptr<const std::vector<std::unique_ptr<const jinja::Node>>> body_;
  std::string name_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
};

}  // namespace lightrl

#endif  // LIGHTRL_TOKENIZER_CHAT_TEMPLATE_H_
