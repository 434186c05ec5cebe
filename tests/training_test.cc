// End-to-end training runs with real processes: the coordinator, learner, rollout actors and
// reward workers of the lightrl binary over real sockets, including faults (SIGKILL of each
// worker role mid-work) and hostile peers. The runs use a tiny model so they finish quickly;
// learning itself is checked elsewhere (learner/learning_test.cc, the demo).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "actors/codec.h"
#include "actors/zmq_socket.h"
#include "core/http_client.h"
#include "core/logging.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

struct TinyRun {
  std::string dir;
  std::string config;
  std::string log;
};

// A tiny training run: a random 2-layer model, addition prompts, every group trained (no
// dynamic sampling: a random model rarely answers right), checkpoints every 2 steps.
TinyRun WriteTinyRun(const std::string& name, int steps, const std::string& extra = "") {
  TinyRun run;
  run.dir = testing::MakeTempDir(name);
  run.config = run.dir + "/run.yaml";
  run.log = run.dir + "/run.log";
  std::ofstream(run.config) << "cluster:\n"
                            << "  coordinator: ipc://" << run.dir << "/coordinator.sock\n"
                            << "  heartbeat_interval_ms: 100\n"
                            << "  dead_after_ms: 1000\n"
                            << "  request_timeout_ms: 1000\n"
                            << "model:\n"
                            << "  config: " << testing::SourcePath("tests/configs/tiny_model.json")
                            << "\n"
                            << "tasks:\n"
                            << "  - {name: add, kind: addition, eval_size: 8}\n"
                            << "sampling: {temperature: 1.0, max_tokens: 6}\n"
                            << "coordinator:\n"
                            << "  mode: async\n"
                            << "  group_size: 4\n"
                            << "  groups_per_batch: 2\n"
                            << "  steps: " << steps << "\n"
                            << "  dynamic_sampling: false\n"
                            << "  max_staleness: 2\n"
                            << "  generation_timeout_ms: 20000\n"
                            << "  reward_timeout_ms: 20000\n"
                            << "  train_timeout_ms: 60000\n"
                            << "  progress_every_ms: 0\n"
                            << "  eval: {every_steps: 0, items: 4, max_tokens: 6}\n"
                            << "  metrics_jsonl: " << run.dir << "/coordinator.jsonl\n"
                            << "learner:\n"
                            << "  lr: 0.001\n"
                            << "  checkpoint_dir: " << run.dir << "/checkpoints\n"
                            << "  checkpoint_every: 2\n"
                            << "  metrics_jsonl: " << run.dir << "/learner.jsonl\n"
                            << "rollout: {max_batch: 16, groups_in_flight: 2}\n"
                            << "reward:\n"
                            << "  threads: 1\n"
                            << "  sandbox: {enabled: false}\n"
                            << "launcher:\n"
                            << "  run_dir: " << run.dir << "\n"
                            << "  restart_backoff_ms: 100\n"
                            << extra;
  return run;
}

testing::Subprocess StartRun(const TinyRun& run, const std::string& overrides = "") {
  auto process = testing::Subprocess::Start(
      {testing::BuildPath("lightrl"), "run", run.config, "--set=" + overrides}, run.log);
  CHECK_OK(process.status());
  return std::move(*process);
}

// The JSON lines of `path` whose "kind" is `kind`.
std::vector<nlohmann::json> JsonLines(const std::string& path, const std::string& kind) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("kind", "") == kind) out.push_back(j);
  }
  return out;
}

// Waits until the coordinator has logged `step` steps (or the deadline passes).
bool WaitForStep(const TinyRun& run, int step, milliseconds timeout) {
  bool found = false;
  testing::WaitForFileContaining(run.dir + "/coordinator.jsonl",
                                 "\"step\":" + std::to_string(step) + ",", timeout, &found);
  return found;
}

int PidOf(const std::string& log, const std::string& process) {
  std::string text = *testing::ReadFile(log);
  std::smatch m;
  std::regex started("started " + process + " \\(pid (\\d+)\\)");
  int pid = -1;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), started);
       it != std::sregex_iterator(); ++it) {
    pid = std::stoi((*it)[1]);  // The latest start.
  }
  return pid;
}

// Checks the end of a run: clean exit, every step trained, accounting balanced, and the
// learner's final lineage holds each step exactly once (its version advanced by `steps`).
void ExpectCompleteRun(const TinyRun& run, testing::Subprocess& process, int steps) {
  auto status = process.Wait(milliseconds(240000));
  ASSERT_TRUE(status.ok()) << "the run did not finish";
  std::string text = *testing::ReadFile(run.log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << text.substr(text.size() > 6000 ? text.size() - 6000 : 0);
  EXPECT_THAT(text, HasSubstr("run: " + std::to_string(steps) + " steps"));
  EXPECT_THAT(text, HasSubstr("balanced"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("NOT BALANCED")));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("trained (\\d+) \\+ dropped (\\d+)")));
  EXPECT_EQ(std::stoi(m[1]), steps * 2);  // groups_per_batch = 2.
  auto learner_steps = JsonLines(run.dir + "/learner.jsonl", "rl");
  ASSERT_FALSE(learner_steps.empty());
  EXPECT_EQ(learner_steps.back()["version"].get<int>(), 1 + steps);
  EXPECT_THAT(text, HasSubstr("learner exited with code 0"));
}

TEST(TrainingTest, RunTrainsEveryStepAndShutsDownCleanly) {
  TinyRun run = WriteTinyRun("train", 4);
  auto process = StartRun(run);
  ExpectCompleteRun(run, process, 4);
  std::string text = *testing::ReadFile(run.log);
  EXPECT_THAT(text, HasSubstr("rollout-0 exited with code 0"));
  EXPECT_THAT(text, HasSubstr("reward-0 exited with code 0"));
  EXPECT_THAT(text, HasSubstr("eval: version 1, held-out accuracy"));
  auto steps = JsonLines(run.dir + "/coordinator.jsonl", "step");
  ASSERT_EQ(steps.size(), 4u);
  for (const auto& s : steps) EXPECT_TRUE(s["balanced"].get<bool>());
  auto learner = JsonLines(run.dir + "/learner.jsonl", "rl");
  ASSERT_EQ(learner.size(), 4u);
  // Every token of a step came from the version it was trained from or older, and the
  // learner's recomputation matched the rollout's probabilities where versions agree.
  for (const auto& s : learner) {
    EXPECT_GE(s["staleness_mean"].get<double>(), 0.0);
    if (s["precision_tokens"].get<int>() > 0) {
      EXPECT_NEAR(s["precision_pearson"].get<double>(), 1.0, 1e-9);
      EXPECT_LT(s["precision_max_abs_delta"].get<double>(), 1e-6);
    }
  }
}

TEST(TrainingTest, ThreadsOfOneProcessOverInprocRunTheSameCode) {
  TinyRun run = WriteTinyRun("threads", 4);
  auto process = StartRun(run, "launcher.placement=threads;launcher.rollout_workers=2");
  auto status = process.Wait(milliseconds(240000));
  ASSERT_TRUE(status.ok()) << "the run did not finish";
  std::string text = *testing::ReadFile(run.log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << text;
  EXPECT_THAT(text, HasSubstr("coordinator listening on inproc://lightrl-coordinator"));
  EXPECT_THAT(text, HasSubstr("worker joined: rollout-1"));
  EXPECT_THAT(text, HasSubstr("run: 4 steps"));
  EXPECT_THAT(text, HasSubstr(": balanced"));
  EXPECT_EQ(JsonLines(run.dir + "/learner.jsonl", "rl").back()["version"].get<int>(), 5);
}

TEST(TrainingTest, KilledWorkersOfEveryRoleLoseNoGroupAndTrainNoneTwice) {
  const int steps = 12;
  TinyRun run = WriteTinyRun("faults", steps);
  auto process = StartRun(run);
  ASSERT_TRUE(WaitForStep(run, 2, milliseconds(120000)));
  ASSERT_EQ(kill(PidOf(run.log, "rollout-0"), SIGKILL), 0);
  ASSERT_TRUE(WaitForStep(run, 5, milliseconds(120000)));
  ASSERT_EQ(kill(PidOf(run.log, "reward-0"), SIGKILL), 0);
  ASSERT_TRUE(WaitForStep(run, 8, milliseconds(120000)));
  // The learner dies mid-run; it resumes from its last checkpoint and the coordinator sends
  // it again the batches it had acknowledged since.
  ASSERT_EQ(kill(PidOf(run.log, "learner"), SIGKILL), 0);
  ExpectCompleteRun(run, process, steps);
  std::string text = *testing::ReadFile(run.log);
  EXPECT_THAT(text, HasSubstr("rollout-0 crashed; restart 1"));
  EXPECT_THAT(text, HasSubstr("reward-0 crashed; restart 1"));
  EXPECT_THAT(text, HasSubstr("learner crashed; restart 1"));
  EXPECT_THAT(text, HasSubstr("resumed from"));
}

TEST(TrainingTest, WholeClusterRestartResumesFromTheLastCheckpoint) {
  const int steps = 16;
  TinyRun run = WriteTinyRun("restart", steps);
  {
    auto first = StartRun(run);
    ASSERT_TRUE(WaitForStep(run, 7, milliseconds(120000)));
    // The machine dies: every process at once, no clean shutdown.
    std::ifstream in(run.dir + "/launcher.json");
    nlohmann::json launcher = nlohmann::json::parse(in);
    for (const auto& p : launcher["processes"]) kill(p["pid"].get<int>(), SIGKILL);
    first.Kill(SIGKILL);
    ASSERT_TRUE(first.Wait(milliseconds(10000)).ok());
  }
  std::string first_log = *testing::ReadFile(run.log);
  TinyRun second = run;
  second.log = run.dir + "/run2.log";
  auto process = StartRun(second);
  ExpectCompleteRun(second, process, steps);
  std::string text = *testing::ReadFile(second.log);
  EXPECT_THAT(text, HasSubstr("coordinator resumed from"));
  EXPECT_THAT(text, HasSubstr("resumed from " + run.dir + "/checkpoints/step-"));
  // The second run trains only the steps the first one had not made durable.
  auto coordinator_steps = JsonLines(run.dir + "/coordinator.jsonl", "step");
  ASSERT_FALSE(coordinator_steps.empty());
  EXPECT_EQ(coordinator_steps.back()["step"].get<int>(), steps);
  EXPECT_TRUE(coordinator_steps.back()["balanced"].get<bool>());
}

// The reward worker's /metrics, found through the coordinator's /status.
std::string RewardMetrics(const TinyRun& run) {
  std::ifstream in(run.dir + "/coordinator.json");
  nlohmann::json where = nlohmann::json::parse(in, nullptr, false);
  if (where.is_discarded()) return "";
  auto status = HttpGet(where["status"].get<std::string>(), milliseconds(3000));
  if (!status.ok()) return "";
  nlohmann::json state = nlohmann::json::parse(status->body, nullptr, false);
  if (state.is_discarded()) return "";
  for (const auto& w : state["workers"]) {
    if (w["id"] != "reward-0" || w["metrics_port"].get<int>() == 0) continue;
    auto metrics =
        HttpGet("http://127.0.0.1:" + std::to_string(w["metrics_port"].get<int>()) + "/metrics",
                milliseconds(3000));
    return metrics.ok() ? metrics->body : "";
  }
  return "";
}

TEST(TrainingTest, RewardWorkerKilledMidSandboxRunLosesNothing) {
  // A code task: every completion runs in the sandbox against 8 stdin/stdout cases, all of
  // them (pass_fraction), so the reward worker is nearly always inside a sandbox run.
  std::string dir = testing::MakeTempDir("codeset");
  {
    std::ofstream data(dir + "/echo.jsonl");
    for (int i = 0; i < 8; ++i) {
      nlohmann::json tests = nlohmann::json::array();
      for (int c = 0; c < 8; ++c) {
        std::string line = std::to_string(i * 10 + c) + "\n";
        tests.push_back({{"stdin", line}, {"stdout", line}});
      }
      data << nlohmann::json({{"prompt", "echo" + std::to_string(i) + "="},
                              {"verifier", "code"},
                              {"tests", tests},
                              {"solution", "print(input())"}})
                  .dump()
           << "\n";
    }
  }
  const int steps = 6;
  TinyRun run = WriteTinyRun("sandboxkill", steps);
  std::string overrides =
      "tasks=[{name: echo, kind: dataset, eval_fraction: 0.0, dataset: {path: " + dir +
      "/echo.jsonl}, scoring: {code_reward: pass_fraction}}];reward.sandbox.enabled=true;"
      "reward.sandbox.wall_ms=2000;coordinator.eval.items=0";
  auto process = StartRun(run, overrides);
  ASSERT_TRUE(WaitForStep(run, 1, milliseconds(120000)));
  // Kill it while it scores (its in-flight gauge is up and completions are being judged).
  auto deadline = std::chrono::steady_clock::now() + milliseconds(60000);
  bool busy = false;
  while (!busy && std::chrono::steady_clock::now() < deadline) {
    std::string metrics = RewardMetrics(run);
    busy = metrics.find("\nlightrl_reward_in_flight 1") != std::string::npos ||
           metrics.find("\nlightrl_reward_in_flight 2") != std::string::npos;
  }
  ASSERT_TRUE(busy) << "the reward worker was never seen scoring";
  ASSERT_EQ(kill(PidOf(run.log, "reward-0"), SIGKILL), 0);
  ExpectCompleteRun(run, process, steps);
  std::string text = *testing::ReadFile(run.log);
  EXPECT_THAT(text, HasSubstr("reward-0 crashed; restart 1"));
  // Nothing the sandbox started outlives the run.
  auto leftovers =
      testing::RunCommand("ps -eo uid=,pid=,comm= | awk '$1 >= 61000 && $1 < 62000'", "");
  EXPECT_EQ(leftovers->output, "");
}

// Sends `frames` to the coordinator from a raw socket and returns the decoded answer.
std::string RawExchange(zmq::context_t& context, const std::string& endpoint,
                        std::vector<zmq::message_t> frames) {
  SocketOptions options;
  options.routing_id = "intruder";
  options.immediate = false;
  auto socket = ZmqSocket::Create(context, SocketKind::kDealer, options);
  CHECK_OK(socket.status());
  CHECK_OK((*socket)->Connect(endpoint));
  CHECK_OK((*socket)->Send(&frames));
  zmq::pollitem_t item{(*socket)->handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, milliseconds(10000)) <= 0) return "(no answer)";
  std::vector<zmq::message_t> reply;
  CHECK_OK((*socket)->Receive(&reply).status());
  DecodeError error;
  auto decoded = IncomingMessage::Decode(std::move(reply), CodecLimits(), &error);
  return decoded.ok() ? std::string((*decoded)->envelope().toString().flatten().cStr())
                      : decoded.status().ToString();
}

TEST(TrainingTest, HostilePeersGetClearErrorsAndTheRunGoesOn) {
  TinyRun run = WriteTinyRun("hostile", 6);
  auto process = StartRun(run);
  ASSERT_TRUE(WaitForStep(run, 1, milliseconds(120000)));
  zmq::context_t context(1);
  std::string endpoint = "ipc://" + run.dir + "/coordinator.sock";

  std::mt19937 rng(9);
  std::string garbage(96, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  std::vector<zmq::message_t> frames;
  frames.emplace_back(garbage.data(), garbage.size());
  EXPECT_THAT(RawExchange(context, endpoint, std::move(frames)),
              HasSubstr("retryClass = failed, message = \"garbage message"));

  OutgoingMessage old_version;
  old_version.envelope().setProtocolVersion(proto::PROTOCOL_VERSION + 1);
  old_version.envelope().setSenderId("intruder");
  old_version.envelope().getBody().initHeartbeat();
  EXPECT_THAT(RawExchange(context, endpoint, old_version.TakeFrames()),
              HasSubstr("is not supported"));

  OutgoingMessage unregistered;
  unregistered.envelope().setProtocolVersion(proto::PROTOCOL_VERSION);
  unregistered.envelope().setSenderId("intruder");
  unregistered.envelope().setMessageId(1);
  unregistered.envelope().getBody().initRollout().setGroupId(1);
  std::string refused = RawExchange(context, endpoint, unregistered.TakeFrames());
  EXPECT_THAT(refused, HasSubstr("retryClass = disconnected"));
  EXPECT_THAT(refused, HasSubstr("is not registered; register first"));

  ExpectCompleteRun(run, process, 6);
}

// Runs a lightrl operator subcommand (its arguments name the run's config) and returns its
// output.
testing::CommandResult Operator(const std::string& args) {
  auto result = testing::RunCommand(testing::BuildPath("lightrl") + " " + args, "");
  CHECK_OK(result.status());
  return *result;
}

TEST(TrainingTest, StatusShowsTheClusterAndScaleAddsAndRemovesWorkers) {
  // A run that outlasts the test (the tiny model trains 40 steps in under a second): the
  // operator stops it at the end.
  TinyRun run = WriteTinyRun("scale", 1000000);
  auto process = StartRun(run);
  ASSERT_TRUE(WaitForStep(run, 1, milliseconds(120000)));
  testing::CommandResult status = Operator("status " + run.config);
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("\"id\": \"rollout-0\""));
  EXPECT_THAT(status.output, HasSubstr("\"balanced\": true"));
  EXPECT_THAT(status.output, HasSubstr("\"name\": \"learner\""));  // From launcher.json.
  // Every worker reported where its metrics are.
  EXPECT_THAT(status.output, ::testing::Not(HasSubstr("\"metrics_port\": 0")));

  testing::CommandResult up = Operator("scale " + run.config + " rollout=2");
  EXPECT_EQ(up.exit_code, 0) << up.output;
  EXPECT_THAT(up.output, HasSubstr("ok rollout=2"));
  bool joined = false;
  testing::WaitForFileContaining(run.log, "worker joined: rollout-1", milliseconds(30000), &joined);
  EXPECT_TRUE(joined) << "the added rollout worker never joined";

  testing::CommandResult down = Operator("scale " + run.config + " rollout=1");
  EXPECT_THAT(down.output, HasSubstr("ok rollout=1"));
  bool stopped = false;
  testing::WaitForFileContaining(run.log, "rollout-1 exited with code 0", milliseconds(30000),
                                 &stopped);
  EXPECT_TRUE(stopped) << "the removed rollout worker did not stop cleanly";

  testing::CommandResult bad = Operator("scale " + run.config + " learner=3");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("only rollout and reward workers can be scaled"));
  process.Kill(SIGTERM);
  auto stopped_run = process.Wait(milliseconds(60000));
  ASSERT_TRUE(stopped_run.ok()) << "the run did not stop on SIGTERM";
  // The coordinator's code: the run stopped before its last step.
  EXPECT_TRUE(WIFEXITED(*stopped_run) && WEXITSTATUS(*stopped_run) == 1);
  const std::string text = *testing::ReadFile(run.log);
  EXPECT_THAT(text, HasSubstr(": balanced"));
  for (const char* worker : {"learner", "rollout-0", "reward-0"}) {
    EXPECT_THAT(text, HasSubstr(std::string(worker) + " exited with code 0"));
  }
}

TEST(TrainingTest, ConfigErrorsNameFileKeyAndReason) {
  TinyRun run = WriteTinyRun("badcfg", 2);
  struct Case {
    const char* role;
    const char* set;
    std::string error;  // after "<config>: "
  };
  const Case cases[] = {
      {"learner", "learner.lr=-1", "learner.lr: must be in [0, 10], got -1"},
      {"rollout", "tasks=[{name: a, kind: poem}]", "tasks[0].kind: must be addition"},
      {"reward", "model=null", "model: required section is missing"},
      {"learner", "learner.sft={steps: 2, lr: 3}", "learner.sft.lr: must be in [0, 1], got 3"},
      {"learner", "model.backend=tpu", "model.backend: must be one of"},
      {"rollout", "rollout.devices=[0, -1]", "rollout.devices: device indices must be >= 0"},
      {"learner", "learner.devices=[0, 1]",
       "learner.devices: data-parallel training needs model.backend: cuda"},
      {"rollout", "rollout.weight_transport=pigeon", "rollout.weight_transport: must be one of"},
  };
  for (const Case& c : cases) {
    auto result = testing::RunCommand(testing::BuildPath("lightrl") + " " + c.role +
                                          " --config=" + run.config + " --set='" + c.set + "'",
                                      "");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->exit_code, 2) << c.set;
    EXPECT_THAT(result->output, HasSubstr(run.config + ": " + c.error)) << c.set;
  }
  // Valid, but impossible here: NCCL weight pulls need the rollout's policy on a GPU.
  auto nccl =
      testing::RunCommand(testing::BuildPath("lightrl") + " rollout --config=" + run.config +
                              " --set='rollout.weight_transport=nccl'",
                          "");
  ASSERT_TRUE(nccl.ok());
  EXPECT_EQ(nccl->exit_code, 1);
  // (A build without CUDA and NCCL says that instead.)
  EXPECT_THAT(nccl->output,
              ::testing::AnyOf(HasSubstr("FAILED_PRECONDITION: rollout.weight_transport: NCCL "
                                         "weight transfer needs the policy on a GPU"),
                               HasSubstr("FAILED_PRECONDITION: rollout.weight_transport: nccl "
                                         "needs a build with CUDA and NCCL")));
}

}  // namespace
}  // namespace lightrl
