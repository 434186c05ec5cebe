// What the coordinator prints on stdout when a run ends: the smoke report ("smoke: PASS"), or
// the training accounting ("run: N steps; groups created = trained + dropped + open: balanced")
// and the held-out accuracy before and after RL. The launcher adds the run's time budget.
#ifndef LIGHTRL_CLI_REPORTS_H_
#define LIGHTRL_CLI_REPORTS_H_

#include "cli/run_config.h"
#include "coordinator/coordinator.h"

namespace lightrl {

void PrintFinalReport(const Coordinator& coordinator);

// After every worker of a training run has stopped: where the wall time of the RL window went
// ("run: time budget 312.4 s: generating 78.1%, ...; none of them 3.8%"), from the workers'
// activity logs and the window the coordinator logged. Says why when it cannot tell.
void PrintTimeBudget(const RunConfig& run);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_REPORTS_H_
