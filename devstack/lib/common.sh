# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings below are used by the scripts that source this file
# Shared paths, logging and small helpers for devstack/{up,down,status}.
# Sourced, never executed.

DEVSTACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${GLRUNNER_DEVSTACK_STATE:-/var/lib/glrunner-devstack}"   # survives between runs
CACHE_DIR="${GLRUNNER_DEVSTACK_CACHE:-/var/cache/glrunner-devstack}" # slow build outputs
LOG_DIR="${GLRUNNER_DEVSTACK_LOGS:-/var/log/glrunner-devstack}"
RUN_DIR="$STATE_DIR/run"            # pid files of the daemons devstack/up started
BIN_DIR="$STATE_DIR/bin"            # the runtime wrapper (must outlive the checkout)
ETC_DIR="$STATE_DIR/etc"            # generated registry configs
REGISTRY_DATA="$STATE_DIR/registry"
DAEMON_JSON="${GLRUNNER_DEVSTACK_DAEMON_JSON:-/etc/docker/daemon.json}"

REGISTRY_PORT="${GLRUNNER_DEVSTACK_REGISTRY_PORT:-5000}"
REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"
REGISTRY_URL="http://$REGISTRY_ADDR"
# A dedicated bridge network whose gateway address serves the registry (read-only) to
# containers. Not docker0: a dind daemon inside a container on a user-defined network
# takes 172.17.0.0/16 for its own docker0 and could not reach the host's docker0 address.
DEVSTACK_NET="glrunner-devstack"
DEVSTACK_SUBNET="${GLRUNNER_DEVSTACK_SUBNET:-10.213.213.0/24}"
DEVSTACK_GATEWAY="${GLRUNNER_DEVSTACK_GATEWAY:-10.213.213.1}"
DEVSTACK_BRIDGE="${GLRUNNER_DEVSTACK_BRIDGE:-glrunner-dev0}"
# Extra dockerd flags, only for a dockerd that devstack/up starts (word-split; used to
# measure a cold start against a second, private engine: see README).
DOCKERD_ARGS="${GLRUNNER_DEVSTACK_DOCKERD_ARGS:-}"
DEVSTACK_LABEL="io.glrunner.devstack"
WRAPPER_NAME="glrunner-runc"
WRAPPER_PATH="$BIN_DIR/glrunner-runc"

# The docker CLI used everywhere; the first on PATH (a docker 28 client may shadow
# Debian's 20.10 one; both negotiate the API version with dockerd 20.10).
DOCKER="${DOCKER:-docker}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export DOCKER_BUILDKIT=0   # the legacy builder is what dockerd 20.10 has without buildx

# --- reporting -------------------------------------------------------------
_t0=""
clock_start() { _t0=$EPOCHREALTIME; }
clock_elapsed() { awk -v a="$_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
say() { printf '%s\n' "$*"; }
warn() { printf 'devstack: %s\n' "$*" >&2; }
die() { printf 'devstack: error: %s\n' "$*" >&2; exit 1; }
# report COMPONENT VERB: prints "COMPONENT: VERB (1.2 s)" using the running clock.
report() { say "$1: $2 ($(clock_elapsed))"; }

need_root() { [ "$(id -u)" = 0 ] || die "run me as root (I install packages and start dockerd)"; }

# --- processes we started --------------------------------------------------
# pid_alive NAME: our pid file for NAME names a live process whose command matches NAME's binary.
pid_alive() {
    local f="$RUN_DIR/$1.pid" pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ -d "/proc/$pid" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cat "$RUN_DIR/$1.cmd" 2>/dev/null || echo "$1")"
}

# start_bg NAME MATCH LOG CMD...: start CMD detached (own session), record its pid.
start_bg() {
    local name=$1 match=$2 log=$3
    shift 3
    mkdir -p "$RUN_DIR" "$(dirname "$log")"
    setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
    echo $! >"$RUN_DIR/$name.pid"
    printf '%s' "$match" >"$RUN_DIR/$name.cmd"
}

# stop_ours NAME: SIGTERM the process we started, wait up to 20 s, forget it.
stop_ours() {
    local name=$1 pid i
    if ! pid_alive "$name"; then
        rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.cmd"
        return 1
    fi
    pid=$(cat "$RUN_DIR/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.cmd"
    return 0
}

# now_us: wall clock in microseconds (bash 5).
now_us() { echo "${EPOCHREALTIME/./}"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
    local deadline=$(($(now_us) + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(now_us)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

engine_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }
