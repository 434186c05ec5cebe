#include "tasks/verdict.h"

#include <array>

#include "tasks/text.h"

namespace lightrl {
namespace {

constexpr std::array<std::string_view, kNumVerdicts> kNames = {
    "correct", "incorrect",    "format_error", "compile_error", "runtime_error",
    "timeout", "memory_limit", "output_limit", "sandbox_error", "invalid_reference",
};

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  int index = static_cast<int>(verdict);
  if (index < 0 || index >= kNumVerdicts) return "unknown";
  return kNames[index];
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  return EnumByName<Verdict>(kNames, name);
}

}  // namespace lightrl
