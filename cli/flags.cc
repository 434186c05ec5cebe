#include "cli/flags.h"

DEFINE_string(config, "", "Path of the run config (YAML).");
DEFINE_string(set, "", "Config overrides applied on top of --config: 'a.b=1;c.d=x' (YAML values).");
DEFINE_string(metrics_address, "127.0.0.1:0",
              "host:port of this process's /metrics and /healthz endpoint (port 0: any free).");
DEFINE_string(log_level, "info", "debug, info, warning or error.");
DEFINE_string(id, "", "Worker id, unique in the cluster (default: <role>-<host>-<pid>).");
