#include "tasks/code_extraction.h"

#include <vector>

#include "tasks/text.h"

namespace lightrl {

std::optional<std::string> ExtractCode(std::string_view completion) {
  constexpr std::string_view kFence = "```";
  // Fences count only at the start of a line.
  std::vector<size_t> fences;
  for (size_t pos = completion.find(kFence); pos != std::string_view::npos;
       pos = completion.find(kFence, pos + kFence.size())) {
    if (pos == 0 || completion[pos - 1] == '\n') fences.push_back(pos);
  }
  std::string_view code = completion;
  if (!fences.empty()) {
    if (fences.size() % 2 != 0) return std::nullopt;
    size_t open = fences[fences.size() - 2];
    size_t body = completion.find('\n', open);
    size_t close = fences.back();
    if (body == std::string_view::npos || body > close) return std::nullopt;
    code = completion.substr(body + 1, close - body - 1);
  }
  if (TrimSpaces(code).empty()) return std::nullopt;
  return std::string(code);
}

}  // namespace lightrl
