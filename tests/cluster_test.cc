// Real processes over real sockets: the lightrl binary's echo worker and launcher against a
// coordinator running in this test process (or as its own process).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <regex>

#include "actors/actor.h"
#include "coordinator/coordinator.h"
#include "tests/util/subprocess.h"

namespace lightrl {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// A coordinator on its own actor in this process, recording membership events.
class CoordinatorHarness {
 public:
  struct Event {
    std::string worker;
    bool joined;
    LeaveReason reason;
    Clock::time_point at;
  };

  explicit CoordinatorHarness(CoordinatorConfig config) : config_(std::move(config)) {
    auto actor = Actor::Start(
        "coordinator",
        [this](EventLoop& loop) -> Status {
          ASSIGN_OR_RETURN(coordinator_, Coordinator::Create(context_, &loop, config_, &metrics_));
          endpoint_ = coordinator_->endpoint();
          coordinator_->registry().OnJoined([this](const WorkerInfo& w) {
            Record({w.id, true, LeaveReason::kDead, Clock::now()});
          });
          coordinator_->registry().OnLeft([this](const WorkerInfo& w, LeaveReason reason) {
            Record({w.id, false, reason, Clock::now()});
          });
          coordinator_->OnFinished([this](bool ok) {
            std::lock_guard<std::mutex> lock(mu_);
            finished_ = ok ? 1 : 0;
            cv_.notify_all();
          });
          return Status::Ok();
        },
        [this] { coordinator_.reset(); });
    CHECK_OK(actor.status());
    actor_ = std::move(*actor);
  }
  ~CoordinatorHarness() { actor_.reset(); }

  const std::string& endpoint() const { return endpoint_; }
  Actor& actor() { return *actor_; }
  Coordinator& coordinator() { return *coordinator_; }

  // Waits for the first event of `worker` after `index` events; returns it or nothing.
  std::optional<Event> WaitEvent(const std::string& worker, bool joined, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Event> found;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = consumed_; i < events_.size(); ++i) {
        if (events_[i].worker == worker && events_[i].joined == joined) {
          found = events_[i];
          consumed_ = i + 1;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Waits for the workload to finish; -1 on timeout, else 1 (success) or 0.
  int WaitFinished(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return finished_ >= 0; });
    return finished_;
  }

 private:
  void Record(Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }

  CoordinatorConfig config_;
  zmq::context_t context_{1};
  MetricsRegistry metrics_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<Actor> actor_;
  std::string endpoint_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  size_t consumed_ = 0;
  int finished_ = -1;
};

ClusterConfig FastCluster(const std::string& endpoint = "tcp://127.0.0.1:0") {
  ClusterConfig cluster;
  cluster.coordinator_endpoint = endpoint;
  cluster.heartbeat_interval_ms = 50;
  cluster.dead_after_ms = 400;
  cluster.request_timeout_ms = 500;
  return cluster;
}

// Writes a run config for worker processes that points at `endpoint`.
std::string WriteWorkerConfig(const std::string& endpoint, int max_in_flight, int work_delay_ms) {
  std::string path = testing::MakeTempDir("cluster") + "/run.yaml";
  std::ofstream(path) << "cluster:\n  coordinator: " << endpoint
                      << "\n  heartbeat_interval_ms: 50\n  dead_after_ms: 400\n"
                      << "  request_timeout_ms: 500\n"
                      << "smoke: {}\n"
                      << "echo:\n  max_in_flight: " << max_in_flight
                      << "\n  work_delay_ms: " << work_delay_ms << "\n";
  return path;
}

testing::Subprocess StartEchoWorker(const std::string& config, const std::string& id,
                                    const std::string& log) {
  auto process = testing::Subprocess::Start(
      {testing::BuildPath("lightrl"), "echo", "--config=" + config, "--id=" + id}, log);
  CHECK_OK(process.status());
  return std::move(*process);
}

TEST(ClusterTest, RequestReplyBetweenTwoProcessesOverTcp) {
  CoordinatorHarness coordinator({FastCluster(), std::nullopt});
  std::string dir = testing::MakeTempDir("rr");
  auto worker = StartEchoWorker(WriteWorkerConfig(coordinator.endpoint(), 4, 0), "echo-rr",
                                dir + "/worker.log");
  ASSERT_TRUE(coordinator.WaitEvent("echo-rr", true, milliseconds(10000)));

  std::promise<std::string> answer;
  std::string payload(100000, 'q');
  payload[777] = '!';
  ASSERT_TRUE(
      coordinator.actor()
          .Call([&] {
            OutgoingMessage message(payload.size() + 256);
            message.envelope().getBody().initEcho().setPayload(
                kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
            coordinator.coordinator().messenger().Request(
                "echo-rr", std::move(message), milliseconds(5000),
                [&](StatusOr<std::unique_ptr<IncomingMessage>> reply) {
                  if (!reply.ok()) {
                    answer.set_value(reply.status().ToString());
                    return;
                  }
                  auto p = (*reply)->envelope().getBody().getEcho().getPayload();
                  answer.set_value(std::string(reinterpret_cast<const char*>(p.begin()), p.size()));
                });
          })
          .ok());
  EXPECT_EQ(answer.get_future().get(), payload);
}

TEST(ClusterTest, KilledWorkerIsDeclaredDeadWithinTheTimeout) {
  ClusterConfig cluster = FastCluster();
  CoordinatorHarness coordinator({cluster, std::nullopt});
  std::string dir = testing::MakeTempDir("dead");
  auto worker = StartEchoWorker(WriteWorkerConfig(coordinator.endpoint(), 4, 0), "echo-dead",
                                dir + "/worker.log");
  ASSERT_TRUE(coordinator.WaitEvent("echo-dead", true, milliseconds(10000)));
  // Alive and heartbeating: not declared dead over several timeouts.
  EXPECT_FALSE(coordinator.WaitEvent("echo-dead", false, milliseconds(3 * cluster.dead_after_ms)));

  Clock::time_point killed_at = Clock::now();
  worker.Kill(SIGKILL);
  auto left = coordinator.WaitEvent("echo-dead", false, milliseconds(5000));
  ASSERT_TRUE(left.has_value()) << "the dead worker was never reported";
  EXPECT_EQ(left->reason, LeaveReason::kDead);
  auto latency = std::chrono::duration_cast<milliseconds>(left->at - killed_at);
  // Silence is counted from the last heartbeat (up to one interval before the kill); the check
  // runs every dead_after/8.
  EXPECT_GE(latency.count(), cluster.dead_after_ms - cluster.heartbeat_interval_ms);
  EXPECT_LE(latency.count(), cluster.dead_after_ms + cluster.dead_after_ms / 8 + 100);
}

TEST(ClusterTest, CreditsKeepEveryQueueBoundedUnderAFastProducer) {
  EchoProbeConfig probe;
  probe.workers = 1;
  probe.probes = 1500;
  probe.payload_bytes = 256;
  probe.pending_capacity = 32;
  CoordinatorHarness coordinator({FastCluster(), probe});
  std::string dir = testing::MakeTempDir("flow");
  std::string log = dir + "/worker.log";
  // The worker holds at most 4 requests and needs >= 1 ms for each: far slower than the
  // producer, which tries to enqueue all 1500 probes at once.
  auto worker = StartEchoWorker(WriteWorkerConfig(coordinator.endpoint(), 4, 1), "echo-flow", log);
  ASSERT_EQ(coordinator.WaitFinished(milliseconds(60000)), 1);
  std::optional<EchoProbeReport> report;
  ASSERT_TRUE(
      coordinator.actor().Call([&] { report = coordinator.coordinator().echo_report(); }).ok());
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->answered, 1500);
  EXPECT_EQ(report->mismatched, 0);
  EXPECT_EQ(report->duplicates, 0);
  EXPECT_EQ(report->requeued, 0);              // The worker never refused a probe.
  EXPECT_GT(report->backpressure, 0);          // The producer really was faster...
  EXPECT_LE(report->pending_high_water, 32u);  // ...and its own queue stayed bounded.
  EXPECT_EQ(report->pending_high_water, 32u);

  ASSERT_TRUE(worker.Wait(milliseconds(10000)).ok()) << "worker ignored the shutdown";
  auto text = testing::ReadFile(log);
  ASSERT_TRUE(text.ok());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      *text, m, std::regex("served (\\d+), queue high water (\\d+) of 4, refused (\\d+)")))
      << *text;
  EXPECT_EQ(std::stoi(m[1]), 1500);
  EXPECT_LE(std::stoi(m[2]), 4);
  EXPECT_EQ(std::stoi(m[3]), 0);
}

TEST(ClusterTest, WorkerRegistersAgainAfterTheCoordinatorRestarts) {
  auto first = std::make_unique<CoordinatorHarness>(CoordinatorConfig{FastCluster(), std::nullopt});
  std::string endpoint = first->endpoint();  // Keep the port for the restarted coordinator.
  std::string dir = testing::MakeTempDir("restart");
  auto worker = StartEchoWorker(WriteWorkerConfig(endpoint, 4, 0), "echo-again", dir + "/w.log");
  ASSERT_TRUE(first->WaitEvent("echo-again", true, milliseconds(10000)));
  first.reset();
  CoordinatorHarness second({FastCluster(endpoint), std::nullopt});
  EXPECT_TRUE(second.WaitEvent("echo-again", true, milliseconds(10000)))
      << "the worker did not come back to the restarted coordinator";
}

TEST(ClusterTest, SmokeRunPassesEndToEnd) {
  std::string dir = testing::MakeTempDir("smoke");
  std::string log = dir + "/run.log";
  auto run = testing::Subprocess::Start(
      {testing::BuildPath("lightrl"), "run", testing::SourcePath("configs/smoke.yaml"),
       "--set=cluster.coordinator=ipc://" + dir + "/coordinator.sock;smoke.probes=500"},
      log);
  ASSERT_TRUE(run.ok());
  auto status = run->Wait(milliseconds(60000));
  ASSERT_TRUE(status.ok()) << "the smoke run did not finish";
  auto text = testing::ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *text;
  EXPECT_THAT(*text, HasSubstr("smoke: 500 probes answered"));
  EXPECT_THAT(*text, HasSubstr("smoke: PASS"));
  EXPECT_THAT(*text, HasSubstr("echo-0 exited with code 0"));
}

TEST(ClusterTest, LauncherRestartsACrashedWorkerAndTheRunCompletes) {
  std::string dir = testing::MakeTempDir("crash");
  std::string log = dir + "/run.log";
  auto run = testing::Subprocess::Start(
      {testing::BuildPath("lightrl"), "run", testing::SourcePath("configs/smoke.yaml"),
       "--set=cluster.coordinator=ipc://" + dir +
           "/c.sock;smoke.probes=3000;"
           "echo.work_delay_ms=1;echo.max_in_flight=4;cluster.heartbeat_interval_ms=50;"
           "cluster.dead_after_ms=400;launcher.restart_backoff_ms=50"},
      log);
  ASSERT_TRUE(run.ok());
  bool found = false;
  std::string text =
      testing::WaitForFileContaining(log, "sending 3000 probes", milliseconds(20000), &found);
  ASSERT_TRUE(found) << text;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("started echo-0 \\(pid (\\d+)\\)")));
  kill(std::stoi(m[1]), SIGKILL);
  auto status = run->Wait(milliseconds(60000));
  ASSERT_TRUE(status.ok());
  text = *testing::ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << text;
  EXPECT_THAT(text, HasSubstr("echo-0 crashed; restart 1"));
  EXPECT_THAT(text, HasSubstr("smoke: 3000 probes answered"));
  EXPECT_THAT(text, HasSubstr("mismatched 0, duplicates 0"));
  EXPECT_THAT(text, HasSubstr("smoke: PASS"));
  ASSERT_TRUE(std::regex_search(text, m, std::regex("re-sent (\\d+)")));
  EXPECT_GE(std::stoi(m[1]), 1) << "the killed worker's in-flight probes were not re-sent";
}

TEST(ClusterTest, BadConfigNamesFileKeyAndReasonAndExits) {
  std::string dir = testing::MakeTempDir("badcfg");
  std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "cluster:\n  heartbeat_interval_ms: -5\n";
  auto result =
      testing::RunCommand(testing::BuildPath("lightrl") + " coordinator --config=" + path, "");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->output,
              HasSubstr(path + ": cluster.heartbeat_interval_ms: must be in [1, 60000], got -5"));

  std::ofstream(path) << "cluster:\n  coordinator: tcp://127.0.0.1:1\nsmoke:\n  probs: 3\n";
  result = testing::RunCommand(testing::BuildPath("lightrl") + " coordinator --config=" + path, "");
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->output, HasSubstr(path + ": smoke.probs: unknown key"));

  result = testing::RunCommand(testing::BuildPath("lightrl") + " run " + dir + "/missing.yaml", "");
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->output, HasSubstr(dir + "/missing.yaml: cannot open config file"));
}

}  // namespace
}  // namespace lightrl
