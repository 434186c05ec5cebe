#include "tasks/reference.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "tasks/countdown_expression.h"
#include "tasks/text.h"

namespace lightrl {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 5> kVerifierNames = {"exact", "math", "countdown", "sorting",
                                                            "code"};
constexpr std::array<std::string_view, 3> kLanguageNames = {"python", "cpp", "shell"};

Status FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgumentError("reference: field '" + std::string(field) + "' " +
                              std::string(problem));
}

StatusOr<std::string> GetString(const json& object, std::string_view key, bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) return FieldError(key, "is missing");
    return std::string();
  }
  if (!it->is_string()) return FieldError(key, "must be a string");
  return it->get<std::string>();
}

StatusOr<int64_t> GetInt(const json& object, std::string_view key, bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) return FieldError(key, "is missing");
    return int64_t{0};
  }
  if (!it->is_number_integer()) return FieldError(key, "must be an integer");
  return it->get<int64_t>();
}

StatusOr<std::vector<int64_t>> GetIntList(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end()) return FieldError(key, "is missing");
  if (!it->is_array()) return FieldError(key, "must be an array of integers");
  std::vector<int64_t> out;
  for (const json& v : *it) {
    if (!v.is_number_integer()) return FieldError(key, "must be an array of integers");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

StatusOr<std::vector<IoCase>> GetCases(const json& object) {
  std::vector<IoCase> cases;
  auto it = object.find("tests");
  if (it == object.end()) return cases;
  if (!it->is_array()) return FieldError("tests", "must be an array of {stdin, stdout} objects");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& c = (*it)[i];
    std::string where = "tests[" + std::to_string(i) + "]";
    if (!c.is_object()) return FieldError(where, "must be an object");
    for (const auto& [key, unused] : c.items()) {
      if (key != "stdin" && key != "stdout") {
        return FieldError(where + "." + key, "is not a known field (stdin, stdout)");
      }
    }
    IoCase io;
    auto in = c.find("stdin");
    if (in != c.end()) {
      if (!in->is_string()) return FieldError(where + ".stdin", "must be a string");
      io.stdin_text = in->get<std::string>();
    }
    auto out = c.find("stdout");
    if (out == c.end()) return FieldError(where + ".stdout", "is missing");
    if (!out->is_string()) return FieldError(where + ".stdout", "must be a string");
    io.expected_stdout = out->get<std::string>();
    cases.push_back(std::move(io));
  }
  return cases;
}

const std::vector<std::string>& KeysOf(VerifierKind kind) {
  static const std::vector<std::string> kExact = {"answer", "compare"};
  static const std::vector<std::string> kMath = {"answer"};
  static const std::vector<std::string> kCountdown = {"numbers", "target"};
  static const std::vector<std::string> kSorting = {"expected"};
  static const std::vector<std::string> kCode = {"language", "tests", "test_script",
                                                 "time_limit_ms", "memory_limit_mb"};
  switch (kind) {
    case VerifierKind::kExact:
      return kExact;
    case VerifierKind::kMath:
      return kMath;
    case VerifierKind::kCountdown:
      return kCountdown;
    case VerifierKind::kSorting:
      return kSorting;
    case VerifierKind::kCode:
      break;
  }
  return kCode;
}

StatusOr<VerifierKind> KindOf(const json& object, bool infer_verifier) {
  auto it = object.find("verifier");
  if (it == object.end()) {
    if (!infer_verifier) return FieldError("verifier", "is missing");
    bool code = object.contains("tests") || object.contains("test_script");
    return code ? VerifierKind::kCode : VerifierKind::kExact;
  }
  if (!it->is_string()) return FieldError("verifier", "must be a string");
  std::optional<VerifierKind> kind = ParseVerifierKind(it->get<std::string>());
  if (!kind) {
    return FieldError("verifier", "has unknown value '" + it->get<std::string>() +
                                      "' (exact, math, countdown, sorting, code)");
  }
  return *kind;
}

Status ReadCodeFields(const json& object, CodeSpec* code) {
  ASSIGN_OR_RETURN(std::string language, GetString(object, "language", false));
  if (!language.empty()) {
    std::optional<CodeLanguage> parsed = ParseCodeLanguage(language);
    if (!parsed) {
      return FieldError("language", "has unknown value '" + language + "' (python, cpp, shell)");
    }
    code->language = *parsed;
  }
  ASSIGN_OR_RETURN(code->cases, GetCases(object));
  ASSIGN_OR_RETURN(code->test_script, GetString(object, "test_script", false));
  ASSIGN_OR_RETURN(code->time_limit_ms, GetInt(object, "time_limit_ms", false));
  ASSIGN_OR_RETURN(code->memory_limit_mb, GetInt(object, "memory_limit_mb", false));
  return Status::Ok();
}

}  // namespace

std::string_view VerifierKindName(VerifierKind kind) {
  return kVerifierNames[static_cast<int>(kind)];
}

std::optional<VerifierKind> ParseVerifierKind(std::string_view name) {
  return EnumByName<VerifierKind>(kVerifierNames, name);
}

std::string_view CodeLanguageName(CodeLanguage language) {
  return kLanguageNames[static_cast<int>(language)];
}

std::optional<CodeLanguage> ParseCodeLanguage(std::string_view name) {
  return EnumByName<CodeLanguage>(kLanguageNames, name);
}

Status Reference::Validate() const {
  switch (kind) {
    case VerifierKind::kExact:
    case VerifierKind::kMath:
      if (answer.empty()) return FieldError("answer", "must not be empty");
      return Status::Ok();
    case VerifierKind::kCountdown:
      if (numbers.empty() || static_cast<int>(numbers.size()) > kMaxCountdownNumbers) {
        return FieldError("numbers",
                          "must hold 1 to " + std::to_string(kMaxCountdownNumbers) + " numbers");
      }
      for (int64_t n : numbers) {
        if (n < 0) return FieldError("numbers", "must not hold negative numbers");
      }
      return Status::Ok();
    case VerifierKind::kSorting:
      if (expected.empty()) return FieldError("expected", "must not be empty");
      if (!std::is_sorted(expected.begin(), expected.end())) {
        return FieldError("expected", "must be in ascending order");
      }
      return Status::Ok();
    case VerifierKind::kCode:
      break;
  }
  if (code.cases.empty() && code.test_script.empty()) {
    return FieldError("tests", "or 'test_script' must be given for a code reference");
  }
  if (!code.test_script.empty() && code.language != CodeLanguage::kPython) {
    return FieldError("test_script", "is supported for language 'python' only");
  }
  if (code.time_limit_ms < 0) return FieldError("time_limit_ms", "must not be negative");
  if (code.memory_limit_mb < 0) return FieldError("memory_limit_mb", "must not be negative");
  return Status::Ok();
}

StatusOr<Reference> ReferenceFromJson(const json& object,
                                      const std::vector<std::string>& extra_allowed_keys,
                                      bool infer_verifier) {
  if (!object.is_object()) return InvalidArgumentError("reference: must be a JSON object");
  Reference ref;
  ASSIGN_OR_RETURN(ref.kind, KindOf(object, infer_verifier));
  const std::vector<std::string>& own = KeysOf(ref.kind);
  for (const auto& [key, unused] : object.items()) {
    bool known = key == "verifier" || std::find(own.begin(), own.end(), key) != own.end() ||
                 std::find(extra_allowed_keys.begin(), extra_allowed_keys.end(), key) !=
                     extra_allowed_keys.end();
    if (!known) {
      return FieldError(
          key, "is not a field of a '" + std::string(VerifierKindName(ref.kind)) + "' reference");
    }
  }
  switch (ref.kind) {
    case VerifierKind::kExact:
    case VerifierKind::kMath: {
      ASSIGN_OR_RETURN(ref.answer, GetString(object, "answer", true));
      if (object.contains("compare")) {
        ASSIGN_OR_RETURN(std::string compare, GetString(object, "compare", true));
        if (compare != "value" && compare != "text") {
          return FieldError("compare", "must be 'value' or 'text', got '" + compare + "'");
        }
        ref.compare_text = compare == "text";
      }
      break;
    }
    case VerifierKind::kCountdown: {
      ASSIGN_OR_RETURN(ref.numbers, GetIntList(object, "numbers"));
      ASSIGN_OR_RETURN(ref.target, GetInt(object, "target", true));
      break;
    }
    case VerifierKind::kSorting: {
      ASSIGN_OR_RETURN(ref.expected, GetIntList(object, "expected"));
      break;
    }
    case VerifierKind::kCode:
      RETURN_IF_ERROR(ReadCodeFields(object, &ref.code));
      break;
  }
  RETURN_IF_ERROR(ref.Validate());
  return ref;
}

StatusOr<Reference> ParseReference(std::string_view json_text) {
  json object = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return InvalidArgumentError("reference: not valid JSON");
  return ReferenceFromJson(object, {}, /*infer_verifier=*/false);
}

std::string SerializeReference(const Reference& reference) {
  json out = json::object();
  out["verifier"] = VerifierKindName(reference.kind);
  switch (reference.kind) {
    case VerifierKind::kExact:
    case VerifierKind::kMath:
      out["answer"] = reference.answer;
      if (reference.compare_text) out["compare"] = "text";
      break;
    case VerifierKind::kCountdown:
      out["numbers"] = reference.numbers;
      out["target"] = reference.target;
      break;
    case VerifierKind::kSorting:
      out["expected"] = reference.expected;
      break;
    case VerifierKind::kCode: {
      const CodeSpec& code = reference.code;
      out["language"] = CodeLanguageName(code.language);
      if (!code.cases.empty()) {
        json cases = json::array();
        for (const IoCase& c : code.cases) {
          cases.push_back({{"stdin", c.stdin_text}, {"stdout", c.expected_stdout}});
        }
        out["tests"] = std::move(cases);
      }
      if (!code.test_script.empty()) out["test_script"] = code.test_script;
      if (code.time_limit_ms != 0) out["time_limit_ms"] = code.time_limit_ms;
      if (code.memory_limit_mb != 0) out["memory_limit_mb"] = code.memory_limit_mb;
      break;
    }
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace lightrl
