// The reference of a task item: what a completion is checked against.
//
// A reference crosses the wire as a JSON string inside messages (task name + item index +
// reference JSON), so the reward worker can score a completion without the task object.
// JSON forms, one per verifier (field names are the contract; unknown fields are errors):
//   {"verifier":"exact","answer":"122"}
//   {"verifier":"math","answer":"\\frac{3}{4}"}
//   {"verifier":"countdown","numbers":[25,5,4,3],"target":83}
//   {"verifier":"sorting","expected":[1,3,5,9]}
//   {"verifier":"code","language":"python","tests":[{"stdin":"1 2\n","stdout":"3\n"}],
//    "test_script":"def test_add(): assert add(1, 2) == 3",
//    "time_limit_ms":2000,"memory_limit_mb":256}
// See docs/tasks.md for the meaning of each field.
#ifndef LIGHTRL_TASKS_REFERENCE_H_
#define LIGHTRL_TASKS_REFERENCE_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lightrl {

enum class VerifierKind { kExact, kMath, kCountdown, kSorting, kCode };
enum class CodeLanguage { kPython, kCpp, kShell };

// "exact", "math", "countdown", "sorting", "code".
std::string_view VerifierKindName(VerifierKind kind);
std::optional<VerifierKind> ParseVerifierKind(std::string_view name);
// "python", "cpp", "shell".
std::string_view CodeLanguageName(CodeLanguage language);
std::optional<CodeLanguage> ParseCodeLanguage(std::string_view name);

// One stdin/stdout test of a program.
struct IoCase {
  std::string stdin_text;
  std::string expected_stdout;
};

struct CodeSpec {
  CodeLanguage language = CodeLanguage::kPython;
  std::vector<IoCase> cases;
  // Python source run after the candidate in the same interpreter (python only); each
  // function named test_* defined by it is one test, or the whole script is one test
  // when it defines none.
  std::string test_script;
  // Per-run limits; 0 means "the scorer's default".
  int64_t time_limit_ms = 0;
  int64_t memory_limit_mb = 0;
};

// The fields used depend on `kind`; the others stay empty.
struct Reference {
  VerifierKind kind = VerifierKind::kExact;
  std::string answer;             // exact, math
  bool compare_text = false;      // exact: compare as text even when the answer is a number
  std::vector<int64_t> numbers;   // countdown: each must be used exactly once
  int64_t target = 0;             // countdown
  std::vector<int64_t> expected;  // sorting: the list in ascending order
  CodeSpec code;                  // code

  // InvalidArgumentError naming the field when the fields do not make a usable reference.
  Status Validate() const;
};

// Parses and validates a reference JSON string. Errors are InvalidArgumentError with a
// message naming the field ("reference: field 'target' must be an integer").
StatusOr<Reference> ParseReference(std::string_view json_text);

// Parses the reference fields of a JSON object. Keys in `extra_allowed_keys` are ignored
// (the dataset reader passes "prompt", "id", "meta"). When `infer_verifier` is set and
// "verifier" is absent, it is "code" if "tests" or "test_script" is present, else "exact".
StatusOr<Reference> ReferenceFromJson(const nlohmann::json& object,
                                      const std::vector<std::string>& extra_allowed_keys,
                                      bool infer_verifier);

// The canonical compact JSON of `reference` (only the fields of its kind). Invalid UTF-8
// in strings is replaced by U+FFFD, since JSON cannot carry it.
std::string SerializeReference(const Reference& reference);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_REFERENCE_H_
