#include "tasks/dataset_task.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "tasks/reference.h"
#include "tasks/rule_verifiers.h"

namespace lightrl {
namespace {

class DatasetTaskTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& contents) {
    std::string path = ::testing::TempDir() + "dataset_" + std::to_string(getpid()) + "_" +
                       std::to_string(counter_++) + ".jsonl";
    std::ofstream(path) << contents;
    paths_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const std::string& p : paths_) unlink(p.c_str());
  }

  static TaskConfig Config(const std::string& path, BadLinePolicy policy) {
    TaskConfig config;
    config.name = "ds";
    config.kind = TaskKind::kDataset;
    config.dataset.path = path;
    config.dataset.on_bad_line = policy;
    config.eval_fraction = 0;
    return config;
  }

  int counter_ = 0;
  std::vector<std::string> paths_;
};

constexpr char kGood[] =
    R"({"prompt":"2+2=","answer":"4","id":"a"})"
    "\n\n"
    R"({"prompt":"Solve x","verifier":"math","answer":"\\frac{1}{2}","meta":{"src":"z"}})"
    "\n"
    R"({"prompt":"83 from 25 5 4 3=","verifier":"countdown","numbers":[25,5,4,3],"target":83,"solution":"(25-5)*4+3"})"
    "\n"
    R"({"prompt":"echo","tests":[{"stdin":"hi\n","stdout":"hi\n"}],"language":"python"})"
    "\n";

TEST_F(DatasetTaskTest, ReadsEveryFieldKind) {
  StatusOr<std::unique_ptr<Task>> task = MakeTask(Config(Write(kGood), BadLinePolicy::kReject));
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_EQ((*task)->Size(Split::kTrain), 4);
  EXPECT_EQ((*task)->Size(Split::kEval), 0);
  std::vector<VerifierKind> kinds;
  for (int i = 0; i < 4; ++i) {
    StatusOr<TaskItem> item = (*task)->Item(Split::kTrain, i);
    ASSERT_TRUE(item.ok());
    StatusOr<Reference> ref = ParseReference(item->reference_json);
    ASSERT_TRUE(ref.ok()) << ref.status();
    kinds.push_back(ref->kind);
  }
  EXPECT_EQ(kinds, (std::vector<VerifierKind>{VerifierKind::kExact, VerifierKind::kMath,
                                              VerifierKind::kCountdown, VerifierKind::kCode}));
  TaskItem countdown = std::move((*task)->Item(Split::kTrain, 2)).value();
  EXPECT_EQ(countdown.prompt, "83 from 25 5 4 3=");
  StatusOr<Verification> v =
      VerifyByRule(*ParseReference(countdown.reference_json), countdown.solution);
  EXPECT_EQ(v->verdict, Verdict::kCorrect);
  EXPECT_EQ((*task)->Item(Split::kTrain, 4).status().code(), StatusCode::kOutOfRange);
}

constexpr char kOneBadLine[] = R"({"prompt":"1+1=","answer":"2"})"
                               "\n"
                               R"({"prompt":"1+2=","anwser":"3"})"
                               "\n"
                               R"({"prompt":"1+3=","answer":"4"})"
                               "\n";

TEST_F(DatasetTaskTest, RejectPolicyFailsWithFileAndLine) {
  std::string path = Write(kOneBadLine);
  StatusOr<std::unique_ptr<Task>> task = MakeTask(Config(path, BadLinePolicy::kReject));
  ASSERT_FALSE(task.ok());
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(task.status().message()).find(path + ":2: "), std::string::npos)
      << task.status();
  EXPECT_NE(std::string(task.status().message()).find("'anwser'"), std::string::npos)
      << task.status();
}

TEST_F(DatasetTaskTest, SkipPolicyDropsAndReportsTheBadLine) {
  std::string path = Write(kOneBadLine);
  TaskConfig config = Config(path, BadLinePolicy::kSkip);
  StatusOr<std::unique_ptr<DatasetTask>> task = DatasetTask::Load(config);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ((*task)->Size(Split::kTrain), 2);
  ASSERT_EQ((*task)->skipped_lines().size(), 1u);
  EXPECT_EQ((*task)->skipped_lines()[0].rfind(path + ":2: ", 0), 0u) << (*task)->skipped_lines()[0];
  EXPECT_EQ((*task)->Item(Split::kTrain, 1)->prompt, "1+3=");
}

TEST_F(DatasetTaskTest, EachKindOfBadLineIsReported) {
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "not valid JSON"},
      {"[1]", "not a JSON object"},
      {R"({"answer":"2"})", "'prompt' is missing"},
      {R"({"prompt":"","answer":"2"})", "'prompt' must be a non-empty string"},
      {R"({"prompt":"p","answer":"2","solution":3})", "'solution' must be a string"},
      {R"({"prompt":"p","verifier":"code"})", "'tests' or 'test_script'"},
      {R"({"prompt":"p","tests":[{"stdout":1}]})", "'tests[0].stdout' must be a string"},
  };
  for (const auto& [line, fragment] : cases) {
    std::string path = Write(std::string(R"({"prompt":"ok","answer":"1"})") + "\n" + line + "\n");
    StatusOr<std::unique_ptr<Task>> task = MakeTask(Config(path, BadLinePolicy::kReject));
    ASSERT_FALSE(task.ok()) << line;
    std::string message(task.status().message());
    EXPECT_NE(message.find(path + ":2: "), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST_F(DatasetTaskTest, MissingFileAndEmptyFileAreErrors) {
  StatusOr<std::unique_ptr<Task>> task =
      MakeTask(Config("/nonexistent/x.jsonl", BadLinePolicy::kReject));
  EXPECT_EQ(task.status().code(), StatusCode::kNotFound);
  EXPECT_NE(std::string(task.status().message()).find("/nonexistent/x.jsonl"), std::string::npos);
  task = MakeTask(Config(Write("\n  \n"), BadLinePolicy::kReject));
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(task.status().message()).find("no valid items"), std::string::npos);
  task = MakeTask(Config(Write("{}\n"), BadLinePolicy::kSkip));
  EXPECT_EQ(task.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DatasetTaskTest, SplitsByPromptHashWithoutOverlap) {
  std::string contents;
  for (int i = 0; i < 400; ++i) {
    contents +=
        R"({"prompt":"q)" + std::to_string(i) + R"(","answer":")" + std::to_string(i) + "\"}\n";
  }
  TaskConfig config = Config(Write(contents), BadLinePolicy::kReject);
  config.eval_fraction = 0.25;
  StatusOr<std::unique_ptr<Task>> task = MakeTask(config);
  ASSERT_TRUE(task.ok()) << task.status();
  int64_t train = (*task)->Size(Split::kTrain), eval = (*task)->Size(Split::kEval);
  EXPECT_EQ(train + eval, 400);
  EXPECT_GT(eval, 60);
  EXPECT_LT(eval, 140);
  std::set<std::string> train_prompts;
  for (int64_t i = 0; i < train; ++i) train_prompts.insert((*task)->Item(Split::kTrain, i)->prompt);
  for (int64_t i = 0; i < eval; ++i) {
    EXPECT_EQ(train_prompts.count((*task)->Item(Split::kEval, i)->prompt), 0u);
  }
}

}  // namespace
}  // namespace lightrl
