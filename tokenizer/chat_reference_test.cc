// Renders every template of testdata/chat/templates.json with every conversation of
// conversations.json and compares, byte for byte, with the expected outputs that
// testdata/chat/reference_transformers.py wrote (transformers' renderer, the final word). It also
// counts the cells where the other reference, @huggingface/jinja (reference_node.mjs), agrees.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tokenizer/chat_template.h"

namespace lightrl {
namespace {

const std::string kChatData = LIGHTRL_CHAT_TESTDATA;

nlohmann::ordered_json ReadJson(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path << " is missing";
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::ordered_json::parse(text.str());
}

std::string TestdataRoot() {
  const char* root = std::getenv("LIGHTRL_TESTDATA");
  if (root != nullptr && *root != '\0') return root;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/lightrl/testdata";
}

// The template an entry of templates.json names: a fetched tokenizer config, a committed one, or
// committed template text with its special tokens.
StatusOr<ChatTemplate> LoadTemplate(const nlohmann::ordered_json& entry) {
  if (entry.contains("template")) {
    std::ifstream file(kChatData + "/" + entry["template"].get<std::string>());
    std::stringstream text;
    text << file.rdbuf();
    ASSIGN_OR_RETURN(ChatTemplate chat, ChatTemplate::Parse(text.str()));
    chat.set_special_tokens(entry["special_tokens"]);
    return chat;
  }
  if (entry.contains("testdata")) {
    const std::string path = TestdataRoot() + "/" + entry["testdata"].get<std::string>();
    if (!std::ifstream(path).good()) {
      return NotFoundError(path + " is missing: run scripts/fetch-testdata");
    }
    return ChatTemplate::FromConfigFile(path);
  }
  return ChatTemplate::FromConfigFile(kChatData + "/" + entry["config"].get<std::string>());
}

ChatInput InputOf(const nlohmann::ordered_json& conversation) {
  ChatInput input;
  input.messages = conversation["messages"];
  if (conversation.contains("tools")) input.tools = conversation["tools"];
  input.add_generation_prompt = conversation["add_generation_prompt"].get<bool>();
  if (conversation.contains("kwargs")) input.extra = conversation["kwargs"];
  return input;
}

// Whether `rendered` is what `cell` expects: the text, or a failure (with the template's own
// message when it raised one).
bool Matches(const StatusOr<std::string>& rendered, const nlohmann::ordered_json& cell) {
  if (cell.contains("text")) return rendered.ok() && *rendered == cell["text"].get<std::string>();
  if (rendered.ok()) return false;
  if (!cell["raised"].get<bool>())
    return rendered.status().code() != StatusCode::kFailedPrecondition;
  return rendered.status().code() == StatusCode::kFailedPrecondition &&
         rendered.status().message().find(cell["error"].get<std::string>()) != std::string::npos;
}

class ChatReferenceTest : public testing::TestWithParam<std::string> {};

TEST_P(ChatReferenceTest, RendersEveryConversationAsTransformers) {
  const nlohmann::ordered_json templates = ReadJson(kChatData + "/templates.json");
  const nlohmann::ordered_json conversations = ReadJson(kChatData + "/conversations.json");
  nlohmann::ordered_json entry;
  for (const auto& candidate : templates) {
    if (candidate["name"] == GetParam()) entry = candidate;
  }
  ASSERT_FALSE(entry.is_null());
  StatusOr<ChatTemplate> chat = LoadTemplate(entry);
  ASSERT_TRUE(chat.ok()) << chat.status();
  const auto expected = ReadJson(kChatData + "/expected/transformers/" + GetParam() + ".json");
  const auto node = ReadJson(kChatData + "/expected/node/" + GetParam() + ".json");
  int node_agrees = 0;
  for (const auto& conversation : conversations) {
    const std::string name = conversation["name"];
    SCOPED_TRACE(GetParam() + " x " + name);
    const StatusOr<std::string> rendered = chat->Render(InputOf(conversation));
    const nlohmann::ordered_json& cell = expected["cells"][name];
    if (cell.contains("text")) {
      ASSERT_TRUE(rendered.ok()) << rendered.status();
      EXPECT_EQ(*rendered, cell["text"].get<std::string>());
    } else {
      EXPECT_TRUE(Matches(rendered, cell))
          << "expected " << cell.dump() << ", got "
          << (rendered.ok() ? *rendered : rendered.status().ToString());
    }
    node_agrees += Matches(rendered, node["cells"][name]);
  }
  std::cout << GetParam() << ": " << conversations.size() << " conversations, @huggingface/jinja "
            << "agrees on " << node_agrees << "\n";
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatReferenceTest,
                         testing::Values("qwen3", "llama3_1", "deepseek_v3", "gemma3", "minimax_m1",
                                         "mistral_nemo", "llama3_3", "hermes3_tool_use",
                                         "deepseek_r1_distill_qwen"));

}  // namespace
}  // namespace lightrl
