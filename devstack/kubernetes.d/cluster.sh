# shellcheck shell=bash
# up / status / down. Sourced after lib.sh, build.sh, pki.sh, daemons.sh.

K8S_UP_TIMEOUT=${GLRUNNER_K8S_UP_TIMEOUT:-120}   # seconds for each of: API ready, node Ready

# --- API probes (curl with the admin certificate; no kubectl needed) ---------------------------
_api() {  # PATH -> body on stdout; fails on HTTP errors
  curl -fsS --max-time 5 --cacert "$K8S_PKI/ca.crt" --cert "$K8S_PKI/admin.crt" --key "$K8S_PKI/admin.key" \
    "${K8S_API_URL}$1" 2>/dev/null
}
k8s_api_ready() { [[ -f $K8S_PKI/admin.crt ]] && [[ $(_api /readyz) == ok ]]; }
k8s_node_state() {  # [SINCE]: Ready | NotReady | Unknown | absent; a heartbeat older than SINCE is Unknown
  local body
  body=$(_api "/api/v1/nodes/$K8S_NODE_NAME") || { echo absent; return; }
  jq -r --argjson since "${1:-0}" '[.status.conditions[]? | select(.type == "Ready")][0]
         | if . == null or (.lastHeartbeatTime | fromdateiso8601) < $since then "Unknown"
           elif .status == "True" then "Ready" elif .status == "False" then "NotReady" else "Unknown" end' <<<"$body"
}
k8s_all_alive() {
  local d
  for d in "${K8S_DAEMONS[@]}"; do pid_of "$d" "$d" >/dev/null || return 1; done
}

_wait_for() {  # DESCRIPTION CMD...: poll every 0.2 s up to K8S_UP_TIMEOUT
  local what=$1 deadline=$((SECONDS + K8S_UP_TIMEOUT))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "$what not reached within ${K8S_UP_TIMEOUT} s (logs: $K8S_LOGS/kubernetes-*.log)"
    _check_daemons_alive
    sleep 0.2
  done
}
_check_daemons_alive() {
  local d
  for d in "${K8S_STARTED[@]}"; do
    pid_of "$d" "$d" >/dev/null || die "$d exited; last lines of $K8S_LOGS/kubernetes-$d.log:
$(tail -n 15 "$K8S_LOGS/kubernetes-$d.log" 2>/dev/null)"
  done
}
_node_is_ready() { [[ $(k8s_node_state "${1:-0}") == Ready ]]; }
_etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:${K8S_ETCD_PORT}/health" 2>/dev/null | grep -q '"health":"true"'; }

# --- engine-side prerequisites -------------------------------------------------------------------
k8s_check_engine() {
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable; run devstack/up first"
}

k8s_ensure_pause_image() {
  local bin=$1 dir
  docker image inspect "$K8S_PAUSE_IMAGE" >/dev/null 2>&1 && return 0
  dir=$(mktemp -d)
  cp "$bin/pause" "$dir/pause"
  tar -C "$dir" -c pause | docker import \
      --change 'ENTRYPOINT ["/pause"]' --change "LABEL org.opencontainers.image.description=\"$K8S_PAUSE_DESCRIPTION\"" --change "LABEL $K8S_OWNER_LABEL" \
      - "$K8S_PAUSE_IMAGE" >/dev/null || die "docker import of the pause image failed"
  rm -rf "$dir"
  log "built stand-in image $K8S_PAUSE_IMAGE"
}

# dockershim starts every sandbox with oom_score_adj -998. Where the machine cannot lower it (no
# CAP_SYS_RESOURCE), the devstack runtime wrapper must clamp it; fail early and plainly if it does not.
k8s_check_oom_score_adj() {
  local out
  out=$(docker run --rm --oom-score-adj=-998 --label "$K8S_OWNER_LABEL" "$K8S_PAUSE_IMAGE" -v 2>&1) \
    || die "the engine cannot start a container with --oom-score-adj=-998, which every pod sandbox needs:
$out
On machines without CAP_SYS_RESOURCE the devstack runtime wrapper must clamp oomScoreAdj (devstack/up)."
}

# --- start / stop ---------------------------------------------------------------------------------
_port_taken() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

_start() {  # NAME BINDIR
  local name=$1 log="$K8S_LOGS/kubernetes-$1.log" port argv=()
  K8S_STARTED+=("$name")
  pid_of "$name" "$name" >/dev/null && return 0
  port=$(k8s_port_of "$name")
  _port_taken "$port" && die "port 127.0.0.1:$port is taken by a process that is not our $name (see: ss -ltnp)"
  mapfile -t argv < <(k8s_cmdline "$name" "$2")
  printf '\n==== %s devstack/kubernetes up: %s\n' "$(date -Is)" "${argv[*]}" >>"$log"
  # Own session; no inherited descriptors (a caller's lock on fd 9 must not live on in a daemon).
  setsid "${argv[@]}" >>"$log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$K8S_RUN/$name.pid"
}

_stop() {  # NAME...: TERM together, KILL what is left after 15 s; only the pids we recorded
  local name pid i pids=() names=()
  for name in "$@"; do
    if pid=$(pid_of "$name" "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    fi
    rm -f "$K8S_RUN/$name.pid"
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  for ((i = 0; i < 150; i++)); do
    for pid in "${pids[@]}"; do [[ -d /proc/$pid ]] && break; done
    [[ -d /proc/$pid ]] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do [[ ! -d /proc/$pid ]] || kill -KILL "$pid" 2>/dev/null || true; done
  log "stopped ${names[*]}"
}

# Containers dockershim made for pods this kubelet ran: name k8s_*, pod uid under our kubelet root.
_our_pod_containers() {
  local uids
  uids=$(ls "$K8S_KUBELET_ROOT/pods" 2>/dev/null) || return 0
  [[ -n $uids ]] || return 0
  docker ps -a --no-trunc --filter name=^k8s_ --filter label=io.kubernetes.docker.type \
      --format '{{.ID}} {{.Label "io.kubernetes.pod.uid"}}' 2>/dev/null \
    | awk 'NR == FNR { mine[$1] = 1; next } ($2 in mine) { print $1 }' <(printf '%s\n' "$uids") -
}

# tmpfs (emptyDir medium: Memory) and other mounts the kubelet left under its root directory, and the
# rshared bind mount it makes of the root directory itself.
_unmount_kubelet_leftovers() {
  local m
  { findmnt -rn -o TARGET | grep -E "^${K8S_KUBELET_ROOT}(/|\$)" | sort -r || true; } | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

# --- subcommands ----------------------------------------------------------------------------------
k8s_up() {
  local t0 bin t since
  t0=$(now)
  if k8s_all_alive && k8s_api_ready && _node_is_ready 0; then
    echo "kubernetes: already running ($(elapsed "$t0") s); kubeconfig $K8S_ADMIN_KUBECONFIG"
    return 0
  fi
  bin=$(k8s_build)
  ensure_packages etcd-server openssl curl jq iproute2
  k8s_check_engine
  k8s_ensure_pause_image "$bin"
  k8s_check_oom_score_adj
  mkdir -p "$K8S_STATE" "$K8S_LOGS" "$K8S_RUN" "$K8S_KUBELET_ROOT"
  chmod 700 "$K8S_STATE"
  k8s_ensure_pki
  k8s_ensure_kubeconfigs
  k8s_write_kubelet_config
  K8S_STARTED=()
  t=$(now)
  _start etcd "$bin"
  _wait_for "etcd health" _etcd_healthy
  _start kube-apiserver "$bin"
  _wait_for "API /readyz" k8s_api_ready
  echo "kubernetes: API ready at $K8S_API_URL ($(elapsed "$t") s after start)"
  _start kube-controller-manager "$bin"
  _start kube-scheduler "$bin"
  # A node object from an earlier run may still say Ready: only a heartbeat of this kubelet counts.
  pid_of kubelet kubelet >/dev/null && since=0 || since=$(date +%s)
  _start kubelet "$bin"
  _wait_for "node $K8S_NODE_NAME Ready" _node_is_ready "$since"
  echo "kubernetes: node $K8S_NODE_NAME Ready ($(elapsed "$t") s after start)"
  k8s_prune_cache "$(basename "$(dirname "$bin")")"
  echo "kubernetes: up ($(elapsed "$t0") s); kubeconfig $K8S_ADMIN_KUBECONFIG"
}

k8s_status() {
  local d pid state=down
  if k8s_api_ready; then state=$(k8s_node_state); fi
  echo "kubernetes: API $K8S_API_URL $([[ $state != down ]] && echo ready || echo 'not reachable')"
  echo "kubernetes: node $K8S_NODE_NAME ${state/down/unknown}"
  echo "kubernetes: kubeconfig $K8S_ADMIN_KUBECONFIG"
  for d in "${K8S_DAEMONS[@]}"; do
    if pid=$(pid_of "$d" "$d"); then echo "kubernetes: $d running (pid $pid)"
    else echo "kubernetes: $d not running"; fi
  done
  [[ $state == Ready ]]
}

k8s_down() {
  local ids t0
  t0=$(now)
  _stop kubelet
  if docker info >/dev/null 2>&1; then
    mapfile -t ids < <(_our_pod_containers)
    if [[ ${#ids[@]} -gt 0 ]]; then
      docker rm -f "${ids[@]}" >/dev/null && log "removed ${#ids[@]} pod container(s) of node $K8S_NODE_NAME"
    fi
  fi
  _unmount_kubelet_leftovers
  _stop kube-scheduler kube-controller-manager
  _stop kube-apiserver
  _stop etcd
  echo "kubernetes: down ($(elapsed "$t0") s)"
}
