// Flags shared by the lightrl subcommands. Declared here, defined in flags.cc; read only by the
// cli layer, which turns them into typed configs.
#ifndef LIGHTRL_CLI_FLAGS_H_
#define LIGHTRL_CLI_FLAGS_H_

#include <gflags/gflags.h>

DECLARE_string(config);
DECLARE_string(set);
DECLARE_string(metrics_address);
DECLARE_string(log_level);
DECLARE_string(id);

#endif  // LIGHTRL_CLI_FLAGS_H_
