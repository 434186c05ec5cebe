#include "tokenizer/testdata_test_util.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/unicode.h"

namespace lightrl::tokenizer {

const std::vector<std::string>& RealTokenizerNames() {
  static const std::vector<std::string> names = {
      "tokenizer-qwen3-3.7.2",  "tokenizer-llama3_1-3.7.2", "tokenizer-deepseek_v3-3.7.2",
      "tokenizer-gemma3-3.7.2", "tokenizer-gptoss-3.7.2",   "tokenizer-llama2-3.7.2"};
  return names;
}

std::vector<std::string> SyntheticTokenizerNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(SourceTestdata() + "/synthetic")) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string TestdataCache() {
  if (const char* dir = std::getenv("LIGHTRL_TESTDATA"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/lightrl/testdata";
}

std::string SourceTestdata() { return LIGHTRL_TOKENIZER_TESTDATA; }

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError(path + ": cannot open");
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

StatusOr<std::string> RealTokenizerPath(const std::string& name) {
  std::string path = TestdataCache() + "/" + name + "/models/tokenizer.json";
  if (!std::filesystem::exists(path)) {
    return NotFoundError(path + " is missing: run scripts/fetch-testdata");
  }
  return path;
}

StatusOr<std::string> TokenizerJson(const std::string& name) {
  const auto& real = RealTokenizerNames();
  if (std::find(real.begin(), real.end(), name) != real.end()) {
    ASSIGN_OR_RETURN(const std::string path, RealTokenizerPath(name));
    return ReadFile(path);
  }
  ASSIGN_OR_RETURN(const std::string spec_text,
                   ReadFile(SourceTestdata() + "/synthetic/" + name + ".json"));
  const nlohmann::json spec = nlohmann::json::parse(spec_text);
  nlohmann::json json = nlohmann::json::object();
  if (!spec["base"].is_null()) {
    ASSIGN_OR_RETURN(const std::string path, RealTokenizerPath(spec["base"].get<std::string>()));
    ASSIGN_OR_RETURN(const std::string base, ReadFile(path));
    json = nlohmann::json::parse(base);
  }
  const nlohmann::json override = spec.value("override", nlohmann::json::object());
  const nlohmann::json model_override = spec.value("model_override", nlohmann::json::object());
  const nlohmann::json appended = spec.value("append_added_tokens", nlohmann::json::array());
  for (const auto& [key, value] : override.items()) json[key] = value;
  for (const auto& [key, value] : model_override.items()) json["model"][key] = value;
  for (const auto& token : appended) json["added_tokens"].push_back(token);
  return json.dump();
}

StatusOr<std::vector<std::string>> ReadCorpus() {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(SourceTestdata() + "/corpus.txt"));
  std::vector<std::string> cases;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("#")) continue;
    std::string bytes;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '\\') {
        bytes += line[i];
        continue;
      }
      const char c = line.at(i + 1);
      if (c == 'x') {
        bytes += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else if (c == 'u') {
        const size_t end = line.find('}', i);
        AppendUtf8(static_cast<char32_t>(std::stoul(line.substr(i + 3, end - i - 3), nullptr, 16)),
                   bytes);
        i = end;
      } else {
        const std::string plain = "\\nrt";
        const std::string value = "\\\n\r\t";
        const size_t which = plain.find(c);
        if (which == std::string::npos)
          return InvalidArgumentError("corpus: bad escape in " + line);
        bytes += value[which];
        i += 1;
      }
    }
    cases.push_back(std::move(bytes));
  }
  return cases;
}

}  // namespace lightrl::tokenizer
