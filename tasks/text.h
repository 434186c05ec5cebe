// Small text helpers shared by the task sources and verifiers.
#ifndef LIGHTRL_TASKS_TEXT_H_
#define LIGHTRL_TASKS_TEXT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lightrl {

// `s` without leading and trailing ASCII whitespace.
std::string_view TrimSpaces(std::string_view s);

// "1 3 5 9".
std::string JoinInts(const std::vector<int64_t>& values);

// The enum value whose index in `names` is the position of `name`; nullopt if absent.
template <typename Enum>
std::optional<Enum> EnumByName(std::span<const std::string_view> names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_TEXT_H_
