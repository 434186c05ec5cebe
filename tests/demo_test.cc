// The demo that learns, shortened for CI: configs/demo.yaml itself (SFT warm start, then CISPO
// on addition) as real processes over tcp, with fewer RL steps. RL must raise held-out
// accuracy clearly, and the run must end cleanly with its accounting balanced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <regex>

#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using ::testing::HasSubstr;

constexpr int kRlSteps = 120;

TEST(DemoTest, ShortDemoRaisesHeldOutAccuracyClearly) {
  const std::string dir = testing::MakeTempDir("demo");
  const std::string log = dir + "/run.log";
  // The demo config with CI-sized RL, its files in `dir` (paths made absolute: the test does
  // not run in the source tree), and an ipc address so parallel
  // tests cannot collide on a port.
  const std::string overrides = "coordinator.steps=" + std::to_string(kRlSteps) +
                                ";coordinator.eval.every_steps=0"
                                ";coordinator.progress_every_ms=10000"
                                ";cluster.coordinator=ipc://" +
                                dir + "/coordinator.sock" + ";coordinator.metrics_jsonl=" + dir +
                                "/coordinator.jsonl" + ";learner.metrics_jsonl=" + dir +
                                "/learner.jsonl" + ";learner.checkpoint_dir=" + dir +
                                "/checkpoints" + ";launcher.run_dir=" + dir +
                                ";model.config=" + testing::SourcePath("model/configs/demo.json");
  auto run =
      testing::Subprocess::Start({testing::BuildPath("lightrl"), "run",
                                  testing::SourcePath("configs/demo.yaml"), "--set=" + overrides},
                                 log);
  ASSERT_TRUE(run.ok()) << run.status();
  auto status = run->Wait(std::chrono::minutes(9));
  std::string text = *testing::ReadFile(log);
  const std::string tail = text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
  ASSERT_TRUE(status.ok()) << "the demo did not finish in time\n" << tail;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << tail;
  EXPECT_THAT(text, HasSubstr("run: " + std::to_string(kRlSteps) + " steps"));
  EXPECT_THAT(text, HasSubstr("balanced"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("NOT BALANCED")));

  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m, std::regex("held-out accuracy ([0-9.]+) before RL .* -> ([0-9.]+) after RL")))
      << tail;
  const double before = std::stod(m[1]), after = std::stod(m[2]);
  std::printf("held-out accuracy %.3f before RL -> %.3f after %d RL steps\n", before, after,
              kRlSteps);
  EXPECT_LE(before, 0.45) << "the warm start alone already solves the task";
  EXPECT_GE(after, before + 0.15) << "RL did not raise held-out accuracy clearly";
}

}  // namespace
}  // namespace lightrl
