// The echo probe: the coordinator's smoke-test workload. It proves the wiring end to end by
// sending `probes` Echo requests with random payloads to echo workers, as their credits allow,
// and checking every reply byte for byte.
//
// Producer side: a timer fills a bounded pending queue as fast as it can; when the queue is
// full the producer backs off (counted as backpressure) instead of growing memory. Dispatch
// takes one worker credit per probe. A probe whose worker dies is re-queued at the front, so
// every probe is answered exactly once (a second answer is counted as a duplicate).
//
// Thread-safety: none; lives on the coordinator actor's thread.
#ifndef LIGHTRL_SMOKE_ECHO_PROBE_H_
#define LIGHTRL_SMOKE_ECHO_PROBE_H_

#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/flow_control.h"
#include "actors/worker_registry.h"
#include "core/config.h"

namespace lightrl {

struct EchoProbeConfig {
  int workers = 1;  // Wait for this many echo workers before starting.
  int64_t probes = 1000;
  int payload_bytes = 1024;
  int pending_capacity = 64;  // Bound of the coordinator-side queue.
  int64_t seed = 1;
};

Status ParseEchoProbeConfig(const ConfigNode& node, EchoProbeConfig* out);

struct EchoProbeReport {
  int64_t answered = 0;
  int64_t mismatched = 0;    // Replies whose payload differed from what was sent.
  int64_t duplicates = 0;    // Second answers to one probe.
  int64_t requeued = 0;      // Probes re-sent after their worker died.
  int64_t backpressure = 0;  // Times the producer found the pending queue full.
  size_t pending_high_water = 0;
  double seconds = 0;
  std::vector<double> round_trip_ms;  // Per answered probe.
  bool ok() const { return mismatched == 0 && duplicates == 0; }
};

class EchoProbe {
 public:
  // `registry`, `messenger` and `loop` must outlive the probe. `on_done` runs once, when every
  // probe has been answered.
  EchoProbe(EventLoop* loop, Messenger* messenger, WorkerRegistry* registry,
            const EchoProbeConfig& config, std::function<void(const EchoProbeReport&)> on_done);
  ~EchoProbe();

 private:
  struct InFlight {
    std::string worker;
    Clock::time_point sent_at;
  };
  void Produce();
  void Dispatch();
  void OnReply(int64_t probe, StatusOr<std::unique_ptr<IncomingMessage>> reply);
  std::string PayloadFor(int64_t probe) const;

  EventLoop* loop_;
  Messenger* messenger_;
  WorkerRegistry* registry_;
  EchoProbeConfig config_;
  std::function<void(const EchoProbeReport&)> on_done_;
  BoundedQueue<int64_t> pending_;
  std::map<int64_t, InFlight> in_flight_;
  std::set<int64_t> answered_;
  int64_t next_probe_ = 0;
  bool started_ = false;
  Clock::time_point start_time_;
  EventLoop::TimerId producer_timer_ = 0;
  EchoProbeReport report_;
};

}  // namespace lightrl

#endif  // LIGHTRL_SMOKE_ECHO_PROBE_H_
