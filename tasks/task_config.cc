#include "tasks/task_config.h"

#include <array>
#include <cctype>

#include "tasks/text.h"

namespace lightrl {
namespace {

constexpr std::array<std::string_view, 5> kTaskKindNames = {"addition", "multiplication",
                                                            "countdown", "sorting", "dataset"};
constexpr std::array<std::string_view, 2> kBadLineNames = {"reject", "skip"};
constexpr std::array<std::string_view, 2> kCodeRewardNames = {"all_pass", "pass_fraction"};

class FieldChecker {
 public:
  explicit FieldChecker(std::string task) : task_(std::move(task)) {}

  void InRange(std::string_view field, int64_t value, int64_t lo, int64_t hi,
               std::string_view note = "") {
    if (!status_.ok() || (value >= lo && value <= hi)) return;
    status_ = InvalidArgumentError("task '" + task_ + "': " + std::string(field) + " must be in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]" +
                                   std::string(note) + ", got " + std::to_string(value));
  }

  void Require(bool ok, std::string_view field, std::string_view problem) {
    if (!status_.ok() || ok) return;
    status_ = InvalidArgumentError("task '" + task_ + "': " + std::string(field) + " " +
                                   std::string(problem));
  }

  Status status() const { return status_; }

 private:
  std::string task_;
  Status status_;
};

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view TaskKindName(TaskKind kind) { return kTaskKindNames[static_cast<int>(kind)]; }
std::optional<TaskKind> ParseTaskKind(std::string_view name) {
  return EnumByName<TaskKind>(kTaskKindNames, name);
}
std::string_view BadLinePolicyName(BadLinePolicy policy) {
  return kBadLineNames[static_cast<int>(policy)];
}
std::optional<BadLinePolicy> ParseBadLinePolicy(std::string_view name) {
  return EnumByName<BadLinePolicy>(kBadLineNames, name);
}
std::string_view CodeRewardName(CodeReward reward) {
  return kCodeRewardNames[static_cast<int>(reward)];
}
std::optional<CodeReward> ParseCodeReward(std::string_view name) {
  return EnumByName<CodeReward>(kCodeRewardNames, name);
}

Status ScoringOptions::Validate() const {
  if (!(format_reward >= 0.0 && format_reward < 1.0)) {
    return InvalidArgumentError("scoring.format_reward must be in [0, 1), got " +
                                std::to_string(format_reward));
  }
  return Status::Ok();
}

Status TaskConfig::Validate() const {
  if (!ValidName(name)) {
    return InvalidArgumentError("task name '" + name +
                                "' must be 1 to 64 letters, digits, '_', '-' or '.'");
  }
  FieldChecker check(name);
  check.Require(eval_fraction >= 0.0 && eval_fraction <= 0.5, "eval_fraction",
                "must be in [0, 0.5], got " + std::to_string(eval_fraction));
  switch (kind) {
    case TaskKind::kAddition:
    case TaskKind::kMultiplication: {
      bool add = kind == TaskKind::kAddition;
      int64_t hi = add ? 18 : 9;
      std::string note = add ? " for addition" : " for multiplication";
      check.InRange("arithmetic.min_digits", arithmetic.min_digits, 1, hi, note);
      check.InRange("arithmetic.max_digits", arithmetic.max_digits, arithmetic.min_digits, hi,
                    " (from min_digits)" + note);
      break;
    }
    case TaskKind::kCountdown:
      check.InRange("countdown.min_numbers", countdown.min_numbers, 2, 6);
      check.InRange("countdown.max_numbers", countdown.max_numbers, countdown.min_numbers, 6,
                    " (from min_numbers)");
      check.InRange("countdown.max_number", countdown.max_number, 1, 1000);
      check.InRange("countdown.max_target", countdown.max_target, 1, 1000000);
      break;
    case TaskKind::kSorting:
      check.InRange("sorting.min_length", sorting.min_length, 1, 64);
      check.InRange("sorting.max_length", sorting.max_length, sorting.min_length, 64,
                    " (from min_length)");
      check.InRange("sorting.max_value", sorting.max_value, 0, 1000000000);
      break;
    case TaskKind::kDataset:
      check.Require(!dataset.path.empty(), "dataset.path", "must be set");
      break;
  }
  if (kind != TaskKind::kDataset) check.InRange("eval_size", eval_size, 0, 100000000);
  RETURN_IF_ERROR(check.status());
  Status scoring_status = scoring.Validate();
  if (!scoring_status.ok()) return scoring_status.WithContext("task '" + name + "'");
  return Status::Ok();
}

}  // namespace lightrl
