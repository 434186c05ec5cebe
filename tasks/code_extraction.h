// Pulling the program out of a model completion.
#ifndef LIGHTRL_TASKS_CODE_EXTRACTION_H_
#define LIGHTRL_TASKS_CODE_EXTRACTION_H_

#include <optional>
#include <string>
#include <string_view>

namespace lightrl {

// The program in `completion`: the body of its last complete ``` fenced block (the info
// string after the opening fence, e.g. "python", is ignored), or the whole completion when
// it has no fence. nullopt when that is empty or blank, or when a fence is opened but
// never closed.
std::optional<std::string> ExtractCode(std::string_view completion);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_CODE_EXTRACTION_H_
