#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>

#include "tasks/reference.h"
#include "tasks/rule_verifiers.h"
#include "tasks/task.h"

namespace lightrl {
namespace {

std::unique_ptr<Task> Make(TaskKind kind, uint64_t seed = 7) {
  TaskConfig config;
  config.name = "gen";
  config.kind = kind;
  config.seed = seed;
  config.eval_size = 200;
  StatusOr<std::unique_ptr<Task>> task = MakeTask(config);
  EXPECT_TRUE(task.ok()) << task.status();
  return std::move(task).value();
}

TaskItem ItemOf(const Task& task, Split split, int64_t index) {
  StatusOr<TaskItem> item = task.Item(split, index);
  EXPECT_TRUE(item.ok()) << item.status();
  return std::move(item).value();
}

constexpr TaskKind kGeneratedKinds[] = {TaskKind::kAddition, TaskKind::kMultiplication,
                                        TaskKind::kCountdown, TaskKind::kSorting};

TEST(GeneratedTasksTest, PromptsHaveTheDocumentedFormat) {
  const std::pair<TaskKind, std::regex> formats[] = {
      {TaskKind::kAddition, std::regex(R"(\d{1,3}\+\d{1,3}=)")},
      {TaskKind::kMultiplication, std::regex(R"(\d{1,3}\*\d{1,3}=)")},
      {TaskKind::kCountdown, std::regex(R"(\d+ from \d+( \d+){2,3}=)")},
      {TaskKind::kSorting, std::regex(R"(sort \d+( \d+){2,5}=)")},
  };
  for (const auto& [kind, format] : formats) {
    std::unique_ptr<Task> task = Make(kind);
    for (int i = 0; i < 100; ++i) {
      TaskItem item = ItemOf(*task, Split::kTrain, i);
      EXPECT_TRUE(std::regex_match(item.prompt, format)) << item.prompt;
    }
  }
}

TEST(GeneratedTasksTest, SolutionsVerifyAndWrongAnswersDoNot) {
  for (TaskKind kind : kGeneratedKinds) {
    std::unique_ptr<Task> task = Make(kind);
    for (int i = 0; i < 300; ++i) {
      TaskItem item = ItemOf(*task, i % 2 ? Split::kTrain : Split::kEval, i / 2);
      StatusOr<Reference> ref = ParseReference(item.reference_json);
      ASSERT_TRUE(ref.ok()) << item.reference_json << ": " << ref.status();
      StatusOr<Verification> good = VerifyByRule(*ref, item.solution);
      ASSERT_TRUE(good.ok());
      EXPECT_EQ(good->verdict, Verdict::kCorrect)
          << item.prompt << " -> " << item.solution << ": " << good->details;
      StatusOr<Verification> bad = VerifyByRule(*ref, item.solution + "1");
      EXPECT_NE(bad->verdict, Verdict::kCorrect) << item.prompt;
    }
  }
}

TEST(GeneratedTasksTest, ArithmeticAnswersAreRight) {
  std::unique_ptr<Task> add = Make(TaskKind::kAddition);
  std::unique_ptr<Task> mul = Make(TaskKind::kMultiplication);
  std::regex parts(R"((\d+)[+*](\d+)=)");
  for (int i = 0; i < 100; ++i) {
    for (Task* task : {add.get(), mul.get()}) {
      TaskItem item = ItemOf(*task, Split::kTrain, i);
      std::smatch m;
      ASSERT_TRUE(std::regex_match(item.prompt, m, parts));
      int64_t a = std::stoll(m[1]), b = std::stoll(m[2]);
      int64_t want = task == add.get() ? a + b : a * b;
      EXPECT_EQ(item.solution, std::to_string(want)) << item.prompt;
    }
  }
}

TEST(GeneratedTasksTest, ReversedAnswersAreVerifiedAsText) {
  TaskConfig config;
  config.name = "rev";
  config.arithmetic = {2, 2, /*reverse_answer=*/true};
  auto task = MakeTask(config);
  ASSERT_TRUE(task.ok());
  std::regex parts(R"((\d+)\+(\d+)=)");
  int with_zero = 0;
  for (int i = 0; i < 200; ++i) {
    TaskItem item = ItemOf(**task, Split::kTrain, i);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(item.prompt, m, parts));
    std::string want = std::to_string(std::stoll(m[1]) + std::stoll(m[2]));
    std::reverse(want.begin(), want.end());
    EXPECT_EQ(item.solution, want);
    auto reference = ParseReference(item.reference_json);
    ASSERT_TRUE(reference.ok());
    EXPECT_EQ(VerifyByRule(*reference, want)->verdict, Verdict::kCorrect);
    if (want.front() == '0') {
      ++with_zero;  // 50+30=80 is "08": "8" alone is wrong.
      EXPECT_EQ(VerifyByRule(*reference, want.substr(1))->verdict, Verdict::kIncorrect);
    }
  }
  EXPECT_GT(with_zero, 0);
}

TEST(GeneratedTasksTest, ItemsAreDeterministicAcrossInstances) {
  for (TaskKind kind : kGeneratedKinds) {
    std::unique_ptr<Task> a = Make(kind);
    std::unique_ptr<Task> b = Make(kind);
    for (int i : {0, 1, 17, 123456789}) {
      TaskItem x = ItemOf(*a, Split::kTrain, i);
      TaskItem y = ItemOf(*b, Split::kTrain, i);
      EXPECT_EQ(x.prompt, y.prompt);
      EXPECT_EQ(x.reference_json, y.reference_json);
    }
  }
}

TEST(GeneratedTasksTest, IndicesGiveDistinctItems) {
  for (TaskKind kind : kGeneratedKinds) {
    std::unique_ptr<Task> task = Make(kind);
    std::set<std::string> prompts;
    for (int i = 0; i < 200; ++i) prompts.insert(ItemOf(*task, Split::kTrain, i).prompt);
    EXPECT_GT(prompts.size(), 190u) << TaskKindName(kind);
  }
}

TEST(GeneratedTasksTest, SeedChangesTheItems) {
  std::unique_ptr<Task> a = Make(TaskKind::kAddition, 1);
  std::unique_ptr<Task> b = Make(TaskKind::kAddition, 2);
  int same = 0;
  for (int i = 0; i < 50; ++i) {
    same += ItemOf(*a, Split::kTrain, i).prompt == ItemOf(*b, Split::kTrain, i).prompt;
  }
  EXPECT_LT(same, 5);
}

TEST(GeneratedTasksTest, TrainAndEvalNeverShareAPrompt) {
  TaskConfig config;
  config.name = "small";
  config.kind = TaskKind::kAddition;
  config.arithmetic.max_digits = 1;  // 100 distinct problems: collisions would show.
  config.eval_fraction = 0.2;
  config.eval_size = 200;
  StatusOr<std::unique_ptr<Task>> task = MakeTask(config);
  ASSERT_TRUE(task.ok()) << task.status();
  std::set<std::string> train, eval;
  for (int i = 0; i < 2000; ++i) train.insert(ItemOf(**task, Split::kTrain, i).prompt);
  for (int i = 0; i < 200; ++i) eval.insert(ItemOf(**task, Split::kEval, i).prompt);
  EXPECT_FALSE(eval.empty());
  EXPECT_GT(train.size(), 50u);
  for (const std::string& p : eval) EXPECT_EQ(train.count(p), 0u) << p;
}

TEST(GeneratedTasksTest, DifficultyParametersAreRespected) {
  TaskConfig config;
  config.name = "wide";
  config.kind = TaskKind::kMultiplication;
  config.arithmetic.min_digits = 4;
  config.arithmetic.max_digits = 4;
  std::unique_ptr<Task> mul = std::move(MakeTask(config)).value();
  std::regex four(R"(\d{4}\*\d{4}=)");
  for (int i = 0; i < 50; ++i) {
    std::string prompt = ItemOf(*mul, Split::kTrain, i).prompt;
    EXPECT_TRUE(std::regex_match(prompt, four)) << prompt;
    EXPECT_NE(prompt[0], '0');
  }
  config.kind = TaskKind::kCountdown;
  config.countdown = {5, 5, 10, 50};
  std::unique_ptr<Task> cd = std::move(MakeTask(config)).value();
  for (int i = 0; i < 50; ++i) {
    StatusOr<Reference> ref = ParseReference(ItemOf(*cd, Split::kTrain, i).reference_json);
    ASSERT_TRUE(ref.ok());
    EXPECT_EQ(ref->numbers.size(), 5u);
    for (int64_t n : ref->numbers) EXPECT_TRUE(n >= 1 && n <= 10) << n;
    EXPECT_TRUE(ref->target >= 1 && ref->target <= 50) << ref->target;
  }
  config.kind = TaskKind::kSorting;
  config.sorting = {8, 8, 5};
  std::unique_ptr<Task> sort = std::move(MakeTask(config)).value();
  for (int i = 0; i < 50; ++i) {
    StatusOr<Reference> ref = ParseReference(ItemOf(*sort, Split::kTrain, i).reference_json);
    ASSERT_TRUE(ref.ok());
    EXPECT_EQ(ref->expected.size(), 8u);
    EXPECT_LE(ref->expected.back(), 5);
  }
}

TEST(GeneratedTasksTest, SizesAndIndexErrors) {
  std::unique_ptr<Task> task = Make(TaskKind::kSorting);
  EXPECT_EQ(task->Size(Split::kTrain), kUnboundedSize);
  EXPECT_EQ(task->Size(Split::kEval), 200);
  EXPECT_EQ(task->Item(Split::kEval, 200).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(task->Item(Split::kTrain, -1).status().code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(task->Item(Split::kEval, 199).ok());
  TaskConfig config;
  config.name = "noeval";
  config.eval_fraction = 0;
  std::unique_ptr<Task> no_eval = std::move(MakeTask(config)).value();
  EXPECT_EQ(no_eval->Size(Split::kEval), 0);
}

TEST(GeneratedTasksTest, MakeTaskRejectsInvalidConfig) {
  TaskConfig config;
  config.name = "bad";
  config.arithmetic.max_digits = 0;
  StatusOr<std::unique_ptr<Task>> task = MakeTask(config);
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lightrl
