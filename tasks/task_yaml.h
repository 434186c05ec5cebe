// Reading task configs from the run config's `tasks:` list (YAML), e.g.
//
//   tasks:
//     - name: add
//       kind: addition            # addition | multiplication | countdown | sorting | dataset
//       seed: 1
//       eval_fraction: 0.1
//       eval_size: 256
//       arithmetic: {min_digits: 1, max_digits: 2}
//       countdown: {min_numbers: 3, max_numbers: 4, max_number: 25, max_target: 200}
//       sorting: {min_length: 3, max_length: 6, max_value: 99}
//       dataset: {path: data/train.jsonl, on_bad_line: reject}   # reject | skip
//       scoring: {code_reward: all_pass, format_reward: 0.0}     # all_pass | pass_fraction
//
// Errors name the file, the key and the reason; TaskConfig::Validate runs last.
#ifndef LIGHTRL_TASKS_TASK_YAML_H_
#define LIGHTRL_TASKS_TASK_YAML_H_

#include <vector>

#include "core/config.h"
#include "tasks/task_config.h"

namespace lightrl {

Status ParseTaskConfig(const ConfigNode& node, TaskConfig* out);
// The whole `tasks:` list; names must be unique. Errors for an empty list when `required`.
StatusOr<std::vector<TaskConfig>> ParseTaskList(const ConfigNode& root, bool required);

}  // namespace lightrl

#endif  // LIGHTRL_TASKS_TASK_YAML_H_
