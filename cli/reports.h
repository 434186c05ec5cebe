// What the coordinator prints on stdout when a run ends: the smoke report ("smoke: PASS"), or
// the training accounting ("run: N steps; groups created = trained + dropped + open: balanced")
// and the held-out accuracy before and after RL.
#ifndef LIGHTRL_CLI_REPORTS_H_
#define LIGHTRL_CLI_REPORTS_H_

#include "actors/coordinator.h"

namespace lightrl {

void PrintFinalReport(const Coordinator& coordinator);

}  // namespace lightrl

#endif  // LIGHTRL_CLI_REPORTS_H_
