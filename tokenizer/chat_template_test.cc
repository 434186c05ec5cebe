#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace lightrl {
namespace {

const std::string kChatData = LIGHTRL_CHAT_TESTDATA;

ChatInput UserSays(const std::string& text) {
  ChatInput input;
  input.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", text}}});
  return input;
}

// A file under the test's temporary directory holding `text`; removed with the test run.
std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ChatTemplateTest, ReadsTemplateAndSpecialTokensOfAConfigFile) {
  const std::string path = kChatData + "/templates/minimax_m1.tokenizer_config.json";
  StatusOr<ChatTemplate> chat = ChatTemplate::FromConfigFile(path);
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->special_tokens(),
            nlohmann::ordered_json({{"bos_token", "<beginning_of_sentence>"},
                                    {"eos_token", "<end_of_sentence>"},
                                    {"unk_token", "<end_of_document>"}}));
  ChatInput input;
  input.messages = nlohmann::ordered_json::parse(
      R"([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])");
  input.add_generation_prompt = true;
  EXPECT_EQ(*chat->Render(input),
            "<begin_of_document><beginning_of_sentence>user name=user\nHi<end_of_sentence>\n"
            "<beginning_of_sentence>ai name=assistant\n");
}

TEST(ChatTemplateTest, TakesTheNamedTemplateAndAddedTokenContent) {
  const auto config = nlohmann::ordered_json::parse(R"({
    "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
    "pad_token": null,
    "additional_special_tokens": ["<a>", {"content": "<b>"}],
    "chat_template": [{"name": "default", "template": "{{ bos_token }}default"},
                      {"name": "tool_use", "template": "{{ additional_special_tokens[1] }}tools"}]
  })");
  StatusOr<ChatTemplate> chat = ChatTemplate::FromConfig(config, "config.json");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(*chat->Render(UserSays("x")), "<s>default");
  chat = ChatTemplate::FromConfig(config, "config.json", "tool_use");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(*chat->Render(UserSays("x")), "<b>tools");
  chat = ChatTemplate::FromConfig(config, "config.json", "rag");
  EXPECT_EQ(chat.status().ToString(),
            "INVALID_ARGUMENT: config.json: chat_template has no template named 'rag'");
}

TEST(ChatTemplateTest, ContextIsWhatApplyChatTemplatePasses) {
  StatusOr<ChatTemplate> chat = ChatTemplate::Parse(
      "{{ messages[0].content }}|{{ tools is none }}|{{ documents is none }}|"
      "{{ add_generation_prompt }}|{{ bos_token }}|{{ enable_thinking is defined }}");
  ASSERT_TRUE(chat.ok()) << chat.status();
  chat->set_special_tokens({{"bos_token", "<s>"}});
  ChatInput input = UserSays("hi");
  EXPECT_EQ(*chat->Render(input), "hi|True|True|False|<s>|False");
  input.tools = nlohmann::ordered_json::array({{{"name", "f"}}});
  input.add_generation_prompt = true;
  input.extra = {{"enable_thinking", false}, {"bos_token", "<override>"}};
  EXPECT_EQ(*chat->Render(input), "hi|False|True|True|<override>|True");
}

TEST(ChatTemplateTest, MissingChatTemplateKeyNamesTheFile) {
  const std::string path = WriteFile("no_template.json", R"({"bos_token": "<s>"})");
  EXPECT_EQ(ChatTemplate::FromConfigFile(path).status().ToString(),
            "INVALID_ARGUMENT: " + path + ": no 'chat_template' key");
  EXPECT_EQ(ChatTemplate::FromConfigFile(testing::TempDir() + "absent.json").status().code(),
            StatusCode::kNotFound);
}

TEST(ChatTemplateTest, SyntaxErrorNamesFileAndLine) {
  const std::string path =
      WriteFile("bad_syntax.json", R"({"chat_template": "{% if x %}\n{{ x + }}\n{% endif %}"})");
  EXPECT_EQ(ChatTemplate::FromConfigFile(path).status().ToString(),
            "INVALID_ARGUMENT: " + path + ":chat_template:2: unexpected '}}'");
  EXPECT_EQ(ChatTemplate::Parse("{% for x in y %}\nbody").status().ToString(),
            "INVALID_ARGUMENT: chat_template:2: unexpected end of template: missing "
            "'{% endfor %}'");
  EXPECT_EQ(ChatTemplate::Parse("a\n{{ 'open").status().ToString(),
            "INVALID_ARGUMENT: chat_template:2: unterminated string");
  EXPECT_EQ(ChatTemplate::Parse("{% break %}").status().ToString(),
            "INVALID_ARGUMENT: chat_template:1: 'break' outside of a loop");
}

TEST(ChatTemplateTest, UnsupportedConstructsAreErrorsNamingThem) {
  EXPECT_EQ(ChatTemplate::Parse("a\n\n{{ text | wordwrap(20) }}").status().ToString(),
            "UNIMPLEMENTED: chat_template:3: filter 'wordwrap' is not supported");
  EXPECT_EQ(ChatTemplate::Parse("{% if x is prime %}{% endif %}").status().ToString(),
            "UNIMPLEMENTED: chat_template:1: test 'prime' is not supported");
  EXPECT_EQ(ChatTemplate::Parse("\n{% include 'header.jinja' %}").status().ToString(),
            "UNIMPLEMENTED: chat_template:2: statement 'include' is not supported");
  // What only the render can see: a filter named in map(), a method, % formatting.
  StatusOr<ChatTemplate> chat = ChatTemplate::Parse(
      "{{ messages|map('wordwrap')|list }}\n{{ 'x'.center(5) }}\n{{ '%s' % 1 }}");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(chat->Render(UserSays("x")).status().ToString(),
            "UNIMPLEMENTED: chat_template:1: filter 'wordwrap' is not supported");
}

TEST(ChatTemplateTest, RaiseExceptionCarriesTheTemplatesMessage) {
  StatusOr<ChatTemplate> chat = ChatTemplate::Parse(
      "{% for m in messages %}\n{% if m.role != 'user' %}\n"
      "{{ raise_exception('Only user messages, got ' + m.role) }}\n{% endif %}{% endfor %}ok");
  ASSERT_TRUE(chat.ok()) << chat.status();
  EXPECT_EQ(*chat->Render(UserSays("x")), "ok");
  ChatInput input;
  input.messages = {{{"role", "system"}, {"content", "s"}}};
  EXPECT_EQ(chat->Render(input).status().ToString(),
            "FAILED_PRECONDITION: chat_template:3: raise_exception: Only user messages, got "
            "system");
}

TEST(ChatTemplateTest, RendersFromManyThreadsAtOnce) {
  StatusOr<ChatTemplate> chat = ChatTemplate::Parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
      "{{ ns.n }}:{{ m.content }};{% endfor %}");
  ASSERT_TRUE(chat.ok()) << chat.status();
  std::vector<std::string> outputs(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < outputs.size(); ++t) {
    threads.emplace_back([&, t] {
      ChatInput input;
      for (size_t i = 0; i <= t; ++i) {
        input.messages.push_back({{"role", "user"}, {"content", std::to_string(t)}});
      }
      for (int repeat = 0; repeat < 200; ++repeat) outputs[t] = *chat->Render(input);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < outputs.size(); ++t) {
    std::string expected;
    for (size_t i = 0; i <= t; ++i)
      expected += std::to_string(i + 1) + ":" + std::to_string(t) + ";";
    EXPECT_EQ(outputs[t], expected);
  }
}

}  // namespace
}  // namespace lightrl
