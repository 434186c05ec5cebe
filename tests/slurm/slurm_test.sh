#!/bin/bash
# Integration test of deploy/slurm/ under a real Slurm that the test starts itself on this
# machine, with two nodes (two slurmd):
#
#   tests/slurm/slurm_test.sh SOURCE_DIR LIGHTRL_BINARY
#
#  1. The scripts refuse to run outside a job, or without a coordinator to join.
#  2. lightrl.sbatch runs a short training run on two nodes (coordinator and learner on the
#     first, one rollout and one reward worker on the second, each a job step): the job is
#     COMPLETED with exit code 0, every configured step was trained, the group accounting
#     balanced, every worker exited on the coordinator's Shutdown, and no lightrl process is
#     left.
#  3. A job with too few tasks and one with a bad config override fail with exit code 2 and a
#     message that names the problem.
#  4. A run started without rollout workers, whose learner is SIGKILLed (the job restarts it),
#     completes once join_rollout.sbatch adds two rollout workers to it; both jobs COMPLETED.
#
# Needs root (it installs slurm-wlm and munge when missing and starts munged, slurmctld and
# slurmd); otherwise it fails. Every daemon it started is stopped by pid when it exits.
set -uo pipefail

src=$(realpath "$1")
bin=$(realpath "$2")
sbatch_dir=$src/deploy/slurm
# shellcheck source-path=SCRIPTDIR source=local_slurm.sh
. "$src/tests/slurm/local_slurm.sh"

work=$(mktemp -d /tmp/lightrl-slurm.XXXXXX)
failures=0
expect() {  # expect DESCRIPTION COMMAND...: a failure unless COMMAND succeeds.
  if "${@:2}"; then
    echo "ok: $1"
  else
    echo "FAIL: $1"
    ((++failures))
  fi
}
has() { grep -qE -- "$1" "$2"; }
equals() { [[ $1 == "$2" ]] || { echo "  got '$1', expected '$2'"; return 1; }; }

# Pids of live lightrl processes of this test (ROLE, when given, is the subcommand).
lightrl_pids() {
  local f cmd pid
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == "$bin ${1:-}"*"--config=$work/"* ]] || continue
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    pid_alive "$pid" && echo "$pid"
  done
}
no_lightrl_left() {
  local left
  left=$(lightrl_pids)
  [[ -z $left ]] || { echo "  still running: $left"; return 1; }
}

finish() {
  slurm_stop
  local leftover
  leftover=$(lightrl_pids)
  # shellcheck disable=SC2086  # one pid per word
  [[ -z $leftover ]] || kill -KILL $leftover
  if ((failures)); then
    local f
    for f in "$work"/*/job-*.out "$work"/*/logs/*.log "$work"/slurm/log/*.log; do
      [[ -f $f ]] && echo "--- $f (last lines)" && tail -n 25 "$f"
    done
    echo "slurm_test: FAILED ($failures check(s)); files kept in $work"
    exit 1
  fi
  rm -rf "$work"
  echo "slurm_test: PASSED"
}
trap finish EXIT
trap 'echo "slurm_test: interrupted"; ((++failures)); exit 1' TERM INT HUP

# A short training run in $work/NAME: tiny model, every group trained, checkpoints every 2 steps.
write_run() {
  local dir=$work/$1
  mkdir -p "$dir"
  cat >"$dir/run.yaml" <<EOF
cluster:
  coordinator: tcp://127.0.0.1:1  # replaced by the job script
  heartbeat_interval_ms: 100
  dead_after_ms: 1000
  request_timeout_ms: 1000
model:
  config: $src/tests/configs/tiny_model.json
tasks:
  - {name: add, kind: addition, eval_size: 8}
sampling: {temperature: 1.0, max_tokens: 6}
coordinator:
  mode: async
  group_size: 4
  groups_per_batch: 2
  steps: 6
  dynamic_sampling: false
  max_staleness: 2
  progress_every_ms: 0
  eval: {every_steps: 0, items: 4, max_tokens: 6}
  metrics_jsonl: $dir/coordinator.jsonl
learner:
  checkpoint_dir: $dir/checkpoints
  checkpoint_every: 2
  metrics_jsonl: $dir/learner.jsonl
reward: {threads: 1, sandbox: {enabled: false}}
launcher: {run_dir: $dir}
EOF
}

# Submits SCRIPT for run NAME: submit NAME SCRIPT [sbatch options...]; prints the job id.
# The coordinator's port is LIGHTRL_PORT when set, else a free one.
# -O (overcommit) and LIGHTRL_OVERLAP=1 let four one-task steps share this machine's cores.
submit() {
  local name=$1 script=$2
  shift 2
  local ports
  read -r -a ports <<<"$(free_ports 2)"
  LIGHTRL_BIN=$bin LIGHTRL_OVERLAP=1 LIGHTRL_LOG_DIR=$work/$name/logs \
    LIGHTRL_PORT=${LIGHTRL_PORT:-${ports[0]}} LIGHTRL_WEIGHTS_PORT=${ports[1]} LIGHTRL_POLL_SECONDS=1 \
    sbatch --parsable --overcommit --chdir="$work/$name" --output="$work/$name/job-%j.out" \
    "$@" "$sbatch_dir/$script" "$work/$name/run.yaml"
}

# The run in $work/NAME trained every step exactly once, in order, and the accounting balanced.
trained_all_steps() {
  python3 - "$work/$1" <<'EOF'
import json, sys
d = sys.argv[1]
steps = [json.loads(l) for l in open(d + "/coordinator.jsonl") if '"kind":"step"' in l]
assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6], steps
assert all(s["balanced"] for s in steps), steps
rl = [json.loads(l) for l in open(d + "/learner.jsonl")]
rl = [r for r in rl if r.get("kind") == "rl"]
assert rl and rl[-1]["version"] == 7, rl[-1:]  # Starting weights are version 1.
EOF
}

# Waits until FILE has at least COUNT lines matching the extended regexp TEXT.
text_count_at_least() {
  local count
  count=$(grep -cE -- "$2" "$1" 2>/dev/null)
  ((${count:-0} >= $3))
}
wait_for_text() { poll_until text_count_at_least "$1" "$2" "${3:-1}"; }

echo "== 1. the scripts outside a job"
bad=$(env -u SLURM_JOB_ID bash "$sbatch_dir/lightrl.sbatch" /nonexistent.yaml 2>&1)
expect "lightrl.sbatch outside a job exits 2" equals "$?" 2
expect "... and says to use sbatch" has "run this script with sbatch" <(echo "$bad")
bad=$(SLURM_JOB_ID=1 SLURM_NTASKS=1 LIGHTRL_BIN=$bin bash "$sbatch_dir/join_rollout.sbatch" \
  "$sbatch_dir/lightrl.sbatch" 2>&1)
expect "join_rollout.sbatch without a coordinator exits 2" equals "$?" 2
expect "... and names LIGHTRL_COORDINATOR" has "set LIGHTRL_COORDINATOR=HOST:PORT" <(echo "$bad")

echo "== starting a Slurm of two nodes (two slurmd) on this machine"
if ! slurm_install || ! slurm_start "$work/slurm" 2; then
  echo "FAIL: this machine cannot run the single-node Slurm this test needs (see above)"
  ((++failures))
  exit 1
fi

echo "== 2. a training run as one job on two nodes"
write_run train
job=$(submit train lightrl.sbatch --nodes=2 --ntasks=4) ||
  { expect "sbatch accepts the job" false; exit 1; }
state=$(wait_job_end "$job")
out=$work/train/job-$job.out
expect "the job is COMPLETED with exit code 0" equals "$state" "JobState=COMPLETED ExitCode=0:0"
expect "the job made 1 rollout and 1 reward worker of its 4 tasks" \
  has "on ${SLURM_NODES[0]}; learner, 1 rollout and 1 reward worker" "$out"
expect "it placed the learner on the first node" has "^lightrl.sbatch: learner on ${SLURM_NODES[0]}$" "$out"
for worker in rollout-0 reward-0; do
  expect "it placed $worker on the second node" has "^lightrl.sbatch: $worker on ${SLURM_NODES[1]}$" "$out"
done
for node in "${SLURM_NODES[@]}"; do
  expect "the slurmd of $node launched 2 of the job's steps" \
    equals "$(grep -c "launch task StepId=$job\.[0-9]" "$work/slurm/log/slurmd-$node.log")" 2
done
expect "the coordinator reports 6 steps and balanced accounting" has "^run: 6 steps; .*: balanced$" "$out"
expect "the coordinator reports held-out accuracy before and after RL" has "^run: held-out accuracy" "$out"
expect "3 workers acknowledged the shutdown" has "3 worker\(s\) acknowledged the shutdown" "$out"
expect "every step exited cleanly" has "run finished: every step exited cleanly" "$out"
for worker in learner rollout-0 reward-0; do
  expect "$worker exited on the coordinator's Shutdown" \
    has "stopping: the coordinator asked" "$work/train/logs/$worker.log"
done
expect "steps 1..6 trained once each, balanced, learner at version 7" trained_all_steps train
expect "no lightrl process is left" no_lightrl_left

echo "== 3. jobs that cannot run"
write_run small
job=$(submit small lightrl.sbatch --ntasks=2)
expect "a 2-task job fails with exit code 2" equals "$(wait_job_end "$job")" "JobState=FAILED ExitCode=2:0"
expect "... saying how many tasks it needs" \
  has "0 rollout and 1 reward worker\(s\) need 3 tasks; the job has 2" "$work/small/job-$job.out"
write_run badset
job=$(LIGHTRL_SET="coordinator.steps=many" submit badset lightrl.sbatch --ntasks=4)
expect "a bad override fails with exit code 2" equals "$(wait_job_end "$job")" "JobState=FAILED ExitCode=2:0"
expect "... naming the key" has "coordinator.steps" "$work/badset/job-$job.out"
expect "... and leaves no lightrl process" no_lightrl_left

echo "== 4. rollout workers joining a running job; a learner restarted"
write_run join
port=$(free_ports 1)
job=$(LIGHTRL_PORT=$port submit join lightrl.sbatch --ntasks=3)
out=$work/join/job-$job.out
expect "a 3-task job starts without rollout workers" wait_for_text "$out" "0 rollout and 1 reward worker"
expect "the learner registers" wait_for_text "$out" "worker joined: learner "
learner=$(lightrl_pids learner)
expect "one learner process runs" equals "$(wc -w <<<"$learner")" 1
kill -KILL "$learner"
expect "the job restarts the killed learner" wait_for_text "$out" "learner failed with code [0-9]+; restart 1 of 3"
expect "the new learner registers" wait_for_text "$out" "worker joined: learner " 2
joiner=$(LIGHTRL_MAIN_JOB=$job LIGHTRL_PORT=$port submit join join_rollout.sbatch --ntasks=2)
expect "the join job is COMPLETED with exit code 0" \
  equals "$(wait_job_end "$joiner")" "JobState=COMPLETED ExitCode=0:0"
expect "the run's job is COMPLETED with exit code 0" \
  equals "$(wait_job_end "$job")" "JobState=COMPLETED ExitCode=0:0"
for task in 0 1; do
  worker=rollout-j$joiner-$task
  expect "$worker joined the run" has "worker joined: $worker " "$out"
  expect "$worker exited on the coordinator's Shutdown" \
    has "stopping: the coordinator asked" "$work/join/logs/$worker.log"
done
expect "the run reports 6 steps and balanced accounting" has "^run: 6 steps; .*: balanced$" "$out"
expect "4 workers acknowledged the shutdown" has "4 worker\(s\) acknowledged the shutdown" "$out"
expect "steps 1..6 trained once each, balanced, learner at version 7" trained_all_steps join
expect "no lightrl process is left" no_lightrl_left
