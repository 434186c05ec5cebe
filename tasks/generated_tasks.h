// Built-in generated tasks: n-digit addition and multiplication, countdown, sorting.
//
// Prompts are compact plain text a tiny byte-level model learns quickly:
//   addition        "37+85="              -> "122"          (exact)
//   multiplication  "37*85="              -> "3145"         (exact)
//   countdown       "83 from 25 5 4 3="   -> "(25-5)*4+3"   (countdown)
//   sorting         "sort 5 3 9 1="       -> "1 3 5 9"      (sorting)
// Items are drawn from ItemRng::FromParts({seed, kind, split, index, attempt}); a draw whose
// prompt falls in the other split (IsEvalPrompt) is redrawn with the next attempt.
#ifndef LIGHTRL_TASKS_GENERATED_TASKS_H_
#define LIGHTRL_TASKS_GENERATED_TASKS_H_

#include <memory>

#include "tasks/task.h"
#include "tasks/task_config.h"

namespace lightrl {

// `config` must be valid and of a generated kind (not kDataset).
std::unique_ptr<Task> MakeGeneratedTask(const TaskConfig& config);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_GENERATED_TASKS_H_
