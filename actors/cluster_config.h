// Settings shared by every process of a cluster: where the coordinator is, the liveness
// contract and the codec limits. Parsed from the `cluster:` section of the run config.
#ifndef LIGHTRL_ACTORS_CLUSTER_CONFIG_H_
#define LIGHTRL_ACTORS_CLUSTER_CONFIG_H_

#include <string>

#include "actors/codec.h"
#include "core/config.h"
#include "core/status.h"

namespace lightrl {

struct ClusterConfig {
  // Where workers connect (tcp://host:port, ipc://path or inproc://name).
  std::string coordinator_endpoint = "tcp://127.0.0.1:5555";
  // What the coordinator binds; empty means the same as coordinator_endpoint.
  std::string coordinator_bind;
  int heartbeat_interval_ms = 200;
  int dead_after_ms = 2000;       // Silence longer than this declares a peer dead.
  int request_timeout_ms = 2000;  // Register and other control requests.
  int64_t max_message_mb = 256;
  // Where each worker appends its busy intervals (core/activity_log.h); "" turns that off.
  // `lightrl run` defaults it to the run folder and reports the run's time budget from it.
  std::string activity_dir;

  CodecLimits codec_limits() const;
  const std::string& bind_endpoint() const {
    return coordinator_bind.empty() ? coordinator_endpoint : coordinator_bind;
  }
};

// Reads `node` (the `cluster:` mapping). Errors name file, key and reason; dead_after_ms must
// exceed twice the heartbeat interval.
Status ParseClusterConfig(const ConfigNode& node, ClusterConfig* out);

}  // namespace lightrl

#endif  // LIGHTRL_ACTORS_CLUSTER_CONFIG_H_
