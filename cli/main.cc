// lightrl: one binary, one subcommand per role.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* help;
};

constexpr Subcommand kSubcommands[] = {
    {"run", lightrl::RunCommand, "run RUN.yaml: start every role of a run on this machine"},
    {"coordinator", lightrl::CoordinatorCommand, "the coordinator process"},
    {"echo", lightrl::EchoCommand, "an echo worker (smoke cluster)"},
    {"learner", lightrl::LearnerCommand, "the learner process"},
    {"rollout", lightrl::RolloutCommand, "a rollout actor process"},
    {"reward", lightrl::RewardCommand, "a reward worker process"},
    {"status", lightrl::StatusCommand, "status RUN.yaml: show the running cluster"},
    {"scale", lightrl::ScaleCommand, "scale RUN.yaml rollout=N [reward=M]: add or remove workers"},
};

void Usage() {
  std::fprintf(stderr, "usage: lightrl <subcommand> [flags]\n\nsubcommands:\n");
  for (const Subcommand& s : kSubcommands) std::fprintf(stderr, "  %-12s %s\n", s.name, s.help);
  std::fprintf(stderr, "\nlightrl <subcommand> --help lists its flags.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
    Usage();
    return argc < 2 ? 2 : 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (std::strcmp(argv[1], s.name) != 0) continue;
    // The subcommand sees "lightrl <name>" as its program name.
    std::string program = std::string("lightrl ") + s.name;
    argv[1] = program.data();
    return s.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "lightrl: unknown subcommand '%s'\n\n", argv[1]);
  Usage();
  return 2;
}
