// The subcommands of the `lightrl` binary. Each takes the arguments after the subcommand name
// (argv[0] is "lightrl <name>") and returns the process exit code. Flags are parsed here, in
// the cli layer only.
#ifndef LIGHTRL_CLI_COMMANDS_H_
#define LIGHTRL_CLI_COMMANDS_H_

namespace lightrl {

int CoordinatorCommand(int argc, char** argv);
int EchoCommand(int argc, char** argv);
int RunCommand(int argc, char** argv);
int LearnerCommand(int argc, char** argv);
int RolloutCommand(int argc, char** argv);
int RewardCommand(int argc, char** argv);
int StatusCommand(int argc, char** argv);
int ScaleCommand(int argc, char** argv);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_COMMANDS_H_
