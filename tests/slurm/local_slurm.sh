# shellcheck shell=bash
# A private Slurm on this machine for tests: munged, slurmctld and slurmd with their own key,
# socket, ports, state and log folders under one directory, so that they neither meet nor
# disturb another Slurm on the machine, and a rerun starts clean. Source this file, then:
#
#   slurm_install        installs Debian's slurm-wlm and munge when missing (needs root)
#   slurm_start DIR [N]  starts the daemons in DIR (fresh) with N nodes (default 1), exports
#                        SLURM_CONF, and waits until every node is idle. Node 1 is this host
#                        (`hostname -s`); nodes 2..N are more slurmd processes on this host,
#                        named <host>-2 ..., each with its own port, spool and log; every node
#                        has this machine's CPU count.
#   slurm_stop           cancels every job, then stops the daemons by their pids
#   wait_job_end ID      waits until job ID has ended; prints its final state line
#
# Every function prints what went wrong and returns non-zero on failure. Daemons run as root
# (as do the jobs: SlurmUser=root); jobs inherit the submitting environment.

SLURM_TEST_DEADLINE=${SLURM_TEST_DEADLINE:-60}  # Seconds for a daemon or job to change state.

slurm_note() { echo "local_slurm: $*" >&2; }

slurm_install() {
  if [[ $(id -u) -ne 0 ]]; then
    slurm_note "this test starts slurmctld, slurmd and munged itself and needs root (uid $(id -u))"
    return 1
  fi
  local missing=() pkg
  for pkg in slurm-wlm munge; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] ||
      missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  slurm_note "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
    { slurm_note "cannot install ${missing[*]} with apt-get"; return 1; }
}

# True while process PID exists and is not a zombie.
pid_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${stat##*) } != Z* ]]
}

pid_gone() { ! pid_alive "$1"; }

# Prints N ports that are free on 127.0.0.1 right now.
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# Polls COMMAND... every 0.2 s until it succeeds or SLURM_TEST_DEADLINE seconds pass.
poll_until() {
  local deadline=$((SECONDS + SLURM_TEST_DEADLINE))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

slurm_start() {
  SLURM_DIR=$1
  local count=${2:-1} host cpus ports i
  host=$(hostname -s) cpus=$(nproc)
  SLURM_NODES=("$host")
  for ((i = 2; i <= count; i++)); do SLURM_NODES+=("$host-$i"); done
  mkdir -p "$SLURM_DIR"/{munge,state,log} || return 1
  for i in "${SLURM_NODES[@]}"; do mkdir -p "$SLURM_DIR/spool/$i" || return 1; done
  chmod 700 "$SLURM_DIR/munge"
  mungekey --create --keyfile="$SLURM_DIR/munge/munge.key" ||
    { slurm_note "mungekey failed"; return 1; }
  munged --force --socket="$SLURM_DIR/munge/munge.sock" --key-file="$SLURM_DIR/munge/munge.key" \
    --pid-file="$SLURM_DIR/munge/munged.pid" --log-file="$SLURM_DIR/log/munged.log" \
    --seed-file="$SLURM_DIR/munge/munged.seed" ||
    { slurm_note "munged did not start: $(tail -n 3 "$SLURM_DIR/log/munged.log" 2>/dev/null)"; return 1; }
  read -r -a ports <<<"$(free_ports $((count + 1)))" || return 1
  # Plugins that need no cgroup setup (and no cgroup.conf: slurmd 22.05 refuses to start with
  # CgroupPlugin=disabled); private paths, ports and munge socket; %n is the node name, for
  # several slurmd on one host.
  cat >"$SLURM_DIR/slurm.conf" <<EOF
ClusterName=lightrltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports[0]}
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SlurmUser=root
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd-%n.pid
SlurmdSpoolDir=$SLURM_DIR/spool/%n
StateSaveLocation=$SLURM_DIR/state
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log
EOF
  for ((i = 0; i < count; i++)); do
    echo "NodeName=${SLURM_NODES[i]} NodeHostname=$host NodeAddr=127.0.0.1 Port=${ports[i + 1]}" \
      "CPUs=$cpus RealMemory=1000 State=UNKNOWN"
  done >>"$SLURM_DIR/slurm.conf"
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$SLURM_DIR/slurm.conf"
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  slurmctld -f "$SLURM_CONF" ||
    { slurm_note "slurmctld did not start: $(tail -n 5 "$SLURM_DIR/log/slurmctld.log")"; return 1; }
  for i in "${SLURM_NODES[@]}"; do
    slurmd -f "$SLURM_CONF" -N "$i" ||
      { slurm_note "slurmd $i did not start: $(tail -n 5 "$SLURM_DIR/log/slurmd-$i.log")"; return 1; }
  done
  if ! poll_until nodes_idle "$count"; then
    slurm_note "the nodes are not idle after ${SLURM_TEST_DEADLINE}s: $(sinfo -N -h -o '%N %T %E' 2>&1)"
    slurm_note "slurmctld log: $(tail -n 5 "$SLURM_DIR/log/slurmctld.log")"
    return 1
  fi
}

# True when sinfo lists COUNT nodes, all idle.
nodes_idle() { [[ $(sinfo -h -N -o %T 2>/dev/null | grep -cx idle) == "$1" ]]; }

# Stops the daemon whose pid file is $1 and whose command line mentions $2 (so that a reused
# pid is never signalled): TERM, then KILL when it outlives the deadline.
stop_daemon() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  pid_alive "$pid" && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 0
  kill -TERM "$pid"
  if ! SLURM_TEST_DEADLINE=15 poll_until pid_gone "$pid"; then
    slurm_note "$1: pid $pid ignored TERM; killing it"
    kill -KILL "$pid"
  fi
}

no_jobs() { [[ -z $(squeue -h -o %i 2>/dev/null) ]]; }

slurm_stop() {
  [[ -n ${SLURM_DIR:-} ]] || return 0
  local conf=$SLURM_DIR/slurm.conf jobs node
  if [[ -f $conf ]]; then
    jobs=$(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null)
    if [[ -n $jobs ]]; then
      # shellcheck disable=SC2086  # one job id per word
      SLURM_CONF=$conf scancel $jobs
      SLURM_CONF=$conf poll_until no_jobs ||
        slurm_note "jobs still listed after scancel: $(SLURM_CONF=$conf squeue -h 2>&1)"
    fi
  fi
  for node in "${SLURM_NODES[@]}"; do stop_daemon "$SLURM_DIR/slurmd-$node.pid" "$conf"; done
  stop_daemon "$SLURM_DIR/slurmctld.pid" "$conf"
  stop_daemon "$SLURM_DIR/munge/munged.pid" "$SLURM_DIR/munge/munge.sock"
}

job_state() { scontrol show job "$1" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

job_ended() {
  case $(job_state "$1") in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY) return 0 ;;
    *) return 1 ;;
  esac
}

wait_job_end() {
  if ! poll_until job_ended "$1"; then
    slurm_note "job $1 has not ended after ${SLURM_TEST_DEADLINE}s (state $(job_state "$1"))"
    return 1
  fi
  scontrol show job "$1" -o | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' |
    sed 's/JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\)/JobState=\1 ExitCode=\2/'
}
