#include "actors/cluster_config.h"

namespace lightrl {
namespace {

Status CheckEndpoint(const ConfigNode& node, const char* key, const std::string& endpoint) {
  for (const char* scheme : {"tcp://", "ipc://", "inproc://"}) {
    if (endpoint.rfind(scheme, 0) == 0 && endpoint.size() > std::string(scheme).size()) {
      return Status::Ok();
    }
  }
  return node.Error(key, "must start with tcp://, ipc:// or inproc://, got '" + endpoint + "'");
}

}  // namespace

CodecLimits ClusterConfig::codec_limits() const {
  CodecLimits limits;
  limits.max_message_bytes = static_cast<size_t>(max_message_mb) << 20;
  return limits;
}

Status ParseClusterConfig(const ConfigNode& node, ClusterConfig* out) {
  RETURN_IF_ERROR(node.ExpectOnlyKeys({"coordinator", "coordinator_bind", "heartbeat_interval_ms",
                                       "dead_after_ms", "request_timeout_ms", "max_message_mb",
                                       "activity_dir"}));
  RETURN_IF_ERROR(node.Optional("coordinator", &out->coordinator_endpoint));
  RETURN_IF_ERROR(CheckEndpoint(node, "coordinator", out->coordinator_endpoint));
  RETURN_IF_ERROR(node.Optional("coordinator_bind", &out->coordinator_bind));
  if (!out->coordinator_bind.empty()) {
    RETURN_IF_ERROR(CheckEndpoint(node, "coordinator_bind", out->coordinator_bind));
  }
  RETURN_IF_ERROR(node.Optional("heartbeat_interval_ms", &out->heartbeat_interval_ms, 1, 60000));
  RETURN_IF_ERROR(node.Optional("dead_after_ms", &out->dead_after_ms, 2, 3600000));
  if (out->dead_after_ms <= 2 * out->heartbeat_interval_ms) {
    return node.Error("dead_after_ms", "must exceed twice heartbeat_interval_ms (" +
                                           std::to_string(out->heartbeat_interval_ms) + ")");
  }
  RETURN_IF_ERROR(node.Optional("request_timeout_ms", &out->request_timeout_ms, 1, 3600000));
  RETURN_IF_ERROR(node.Optional("max_message_mb", &out->max_message_mb, 1, 4096));
  RETURN_IF_ERROR(node.Optional("activity_dir", &out->activity_dir));
  return Status::Ok();
}

}  // namespace lightrl
