# shellcheck shell=bash
# Packages, the Docker engine, and the privileged-container probe + runtime wrapper.

PACKAGES=(docker.io docker-registry debootstrap debian-archive-keyring busybox-static openssl ca-certificates curl)

# ensure_packages: install whatever of PACKAGES is missing (one apt-get run).
ensure_packages() {
    local missing=() p
    clock_start
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "packages: present"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold)
    if ! "${apt[@]}" "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1; then
        apt-get update >>"$LOG_DIR/apt.log" 2>&1 || true
        "${apt[@]}" "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 ||
            die "apt-get install ${missing[*]} failed; see $LOG_DIR/apt.log"
    fi
    report "packages" "installed ${missing[*]}"
}

# dockerd_pid: the engine's dockerd: ours if we started it, else the system one.
dockerd_pid() {
    local pid
    if pid_alive dockerd; then cat "$RUN_DIR/dockerd.pid"; return; fi
    pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
    [ -d "/proc/$pid" ] && echo "$pid"
}

# ensure_engine: answer `docker info`, starting dockerd if nothing answers.
ensure_engine() {
    clock_start
    if engine_answers; then
        if pid_alive dockerd; then say "engine: already running"; else say "engine: already running (not started by devstack)"; fi
        return
    fi
    command -v dockerd >/dev/null || die "dockerd missing after installing docker.io"
    # The mirror is known before the first start: no reload needed on a fresh machine.
    "$PY" "$DEVSTACK_DIR/lib/daemon_json.py" "$DAEMON_JSON" mirror "$REGISTRY_URL" >/dev/null
    mkdir -p "$LOG_DIR"
    # shellcheck disable=SC2086 # DOCKERD_ARGS is a list of flags
    start_bg dockerd dockerd "$LOG_DIR/dockerd.log" dockerd $DOCKERD_ARGS
    if ! wait_for 60 engine_answers; then
        tail -n 20 "$LOG_DIR/dockerd.log" >&2
        die "dockerd did not answer within 60 s; log: $LOG_DIR/dockerd.log"
    fi
    report "engine" "started"
}

# reload_engine: SIGHUP dockerd (re-reads daemon.json: mirrors, runtimes), then wait for CHECK.
reload_engine() {
    local pid
    pid=$(dockerd_pid) || die "cannot find dockerd's pid (/var/run/docker.pid) to reload $DAEMON_JSON"
    kill -HUP "$pid"
    wait_for 20 "$@" || die "dockerd did not apply $DAEMON_JSON after SIGHUP; see its log"
}

mirror_active() { "$DOCKER" info --format '{{json .RegistryConfig.Mirrors}}' | grep -qF "\"$REGISTRY_URL/\""; }
wrapper_active() { [ "$("$DOCKER" info --format '{{.DefaultRuntime}}')" = "$WRAPPER_NAME" ]; }

# ensure_mirror: the engine uses our registry as its Docker Hub mirror.
ensure_mirror() {
    clock_start
    if mirror_active; then
        say "engine mirror $REGISTRY_URL: configured"
        return
    fi
    "$PY" "$DEVSTACK_DIR/lib/daemon_json.py" "$DAEMON_JSON" mirror "$REGISTRY_URL" >/dev/null
    reload_engine mirror_active
    report "engine mirror $REGISTRY_URL" "configured (daemon.json, SIGHUP)"
}

# probe_privileged IMAGE: print nothing and succeed when a privileged container and a
# negative oom_score_adj both work; else print the error.
probe_privileged() {
    local out
    out=$("$DOCKER" run --rm --privileged --label "$DEVSTACK_LABEL=probe" "$1" true 2>&1) || { echo "$out"; return 1; }
    out=$("$DOCKER" run --rm --oom-score-adj=-998 --label "$DEVSTACK_LABEL=probe" "$1" true 2>&1) || { echo "$out"; return 1; }
}

install_wrapper_file() {
    mkdir -p "$BIN_DIR"
    if ! cmp -s "$DEVSTACK_DIR/runtime/glrunner-runc" "$WRAPPER_PATH"; then
        install -m 0755 "$DEVSTACK_DIR/runtime/glrunner-runc" "$WRAPPER_PATH.new"
        mv -f "$WRAPPER_PATH.new" "$WRAPPER_PATH"
    fi
}

# ensure_privileged IMAGE: detect whether privileged containers work; register the
# runtime wrapper only when they fail the way this kind of VM makes them fail.
ensure_privileged() {
    local err
    clock_start
    if wrapper_active; then
        install_wrapper_file # keep the registered wrapper current
    fi
    if err=$(probe_privileged "$1"); then
        if wrapper_active; then report "privileged containers" "work (runtime wrapper $WRAPPER_NAME)"
        else report "privileged containers" "work (plain runc)"; fi
        return
    fi
    case $err in
        *"unable to apply caps"* | *"can't get final child's PID"* | *oom_score_adj*) ;;
        *) die "privileged probe failed for another reason than missing capabilities: $err" ;;
    esac
    wrapper_active && die "privileged containers fail even with the runtime wrapper: $err"
    install_wrapper_file
    "$PY" "$DEVSTACK_DIR/lib/daemon_json.py" "$DAEMON_JSON" runtime "$WRAPPER_NAME" "$WRAPPER_PATH" >/dev/null
    reload_engine wrapper_active
    err=$(probe_privileged "$1") || die "privileged containers still fail with the runtime wrapper: $err"
    report "privileged containers" "work after registering runtime wrapper $WRAPPER_NAME"
}
