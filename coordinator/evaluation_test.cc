#include "coordinator/evaluation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lightrl {
namespace {

using ::testing::ElementsAre;

class SizedTask : public Task {
 public:
  SizedTask(std::string name, int64_t eval_size) : Task(std::move(name)), eval_size_(eval_size) {}
  int64_t Size(Split split) const override {
    return split == Split::kEval ? eval_size_ : kUnboundedSize;
  }
  StatusOr<TaskItem> Item(Split, int64_t) const override { return TaskItem{"1+1=", "{}", ""}; }

 private:
  int64_t eval_size_;
};

PipelineConfig EvalConfig(int items, int every_steps) {
  PipelineConfig config;
  config.eval.items = items;
  config.eval.every_steps = every_steps;
  config.eval.max_tokens = 5;
  config.sampling.stop_strings = {"\n"};
  return config;
}

TEST(EvaluationTest, RoundsSpreadTheirPromptsOverTheTasksAndAnswerGreedily) {
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<SizedTask>("a", 100));
  tasks.push_back(std::make_unique<SizedTask>("b", 2));
  Evaluation evaluation(EvalConfig(7, 0), tasks);
  EXPECT_THAT(evaluation.RoundPrompts(),
              ElementsAre(PromptRef{0, 0}, PromptRef{0, 1}, PromptRef{0, 2}, PromptRef{1, 0},
                          PromptRef{1, 1}));
  const GenerationSpec& spec = evaluation.generation();
  EXPECT_EQ(spec.samples_per_prompt, 1u);
  EXPECT_EQ(spec.temperature, 0.0f);
  EXPECT_EQ(spec.max_tokens, 5u);
  EXPECT_THAT(spec.stop_strings, ElementsAre("\n"));
}

TEST(EvaluationTest, ARoundEndsWithItsLastAnswerAndOpensTraining) {
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<SizedTask>("a", 100));
  Evaluation evaluation(EvalConfig(3, 0), tasks);
  EXPECT_TRUE(evaluation.enabled());
  EXPECT_FALSE(evaluation.initial_done());
  evaluation.BeginRound(4, 3);
  EXPECT_TRUE(evaluation.in_progress());
  EXPECT_FALSE(evaluation.Record({true, 4}).has_value());
  EXPECT_FALSE(evaluation.Record({false, UINT64_MAX}).has_value());
  std::optional<EvalResult> result = evaluation.Record({true, 3});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->requested_version, 4u);
  EXPECT_EQ(result->min_token_version, 3u);
  EXPECT_EQ(result->correct, 2);
  EXPECT_DOUBLE_EQ(result->accuracy(), 2.0 / 3);
  EXPECT_TRUE(evaluation.initial_done());
  EXPECT_FALSE(evaluation.in_progress());
  EXPECT_EQ(evaluation.results().size(), 1u);
}

// A round none of whose prompts could be read ends at once (it would wait forever for
// answers), and training may start.
TEST(EvaluationTest, ARoundOfNoGroupsEndsAtOnce) {
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<SizedTask>("a", 100));
  Evaluation evaluation(EvalConfig(3, 0), tasks);
  std::optional<EvalResult> result = evaluation.BeginRound(2, 0);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->items, 0);
  EXPECT_EQ(result->requested_version, 2u);
  EXPECT_FALSE(evaluation.in_progress());
  EXPECT_TRUE(evaluation.initial_done());
  EXPECT_FALSE(evaluation.BeginRound(3, 2).has_value());
}

TEST(EvaluationTest, EvaluationWithoutAnyEvalItemsIsAConfigError) {
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<SizedTask>("a", 0));
  tasks.push_back(std::make_unique<SizedTask>("b", 0));
  Status refused = Evaluation(EvalConfig(4, 0), tasks).Validate();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("coordinator.eval.items is 4"));
  EXPECT_TRUE(Evaluation(EvalConfig(0, 0), tasks).Validate().ok());
  tasks.push_back(std::make_unique<SizedTask>("c", 1));
  EXPECT_TRUE(Evaluation(EvalConfig(4, 0), tasks).Validate().ok());
}

TEST(EvaluationTest, PeriodicAndFinalRoundsAreDueOnce) {
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::make_unique<SizedTask>("a", 100));
  Evaluation periodic(EvalConfig(2, 3), tasks);
  EXPECT_FALSE(periodic.DueAfterStep(2, 10));
  EXPECT_TRUE(periodic.DueAfterStep(3, 10));
  EXPECT_TRUE(periodic.DueAfterStep(9, 10));
  EXPECT_FALSE(periodic.DueAfterStep(12, 12));  // The final round covers the last step.
  EXPECT_TRUE(periodic.ClaimFinalRound());
  EXPECT_FALSE(periodic.ClaimFinalRound());
  Evaluation off(EvalConfig(0, 3), tasks);
  EXPECT_TRUE(off.initial_done());
  EXPECT_FALSE(off.ClaimFinalRound());
}

}  // namespace
}  // namespace lightrl
