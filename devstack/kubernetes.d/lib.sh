# shellcheck shell=bash
# Shared paths and helpers for devstack/kubernetes. Sourced, never executed.
# Everything the cluster owns lives under the four roots below; nothing else on the machine is touched.

K8S_CACHE=${GLRUNNER_K8S_CACHE:-/var/cache/glrunner-devstack/kubernetes}   # source tarballs, built binaries
K8S_STATE=${GLRUNNER_K8S_STATE:-/var/lib/glrunner-devstack/kubernetes}     # etcd data, certs, kubeconfigs
K8S_LOGS=${GLRUNNER_K8S_LOGS:-/var/log/glrunner-devstack}                  # one log per daemon
K8S_RUN=${GLRUNNER_K8S_RUN:-$K8S_STATE/run}                           # pid files

K8S_SRC_PACKAGE=kubernetes
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
K8S_PAUSE_IMAGE=${GLRUNNER_K8S_PAUSE_IMAGE:-glrunner-devstack/pause:3.4.1}
K8S_PAUSE_DESCRIPTION="glrunner devstack stand-in: Kubernetes pause built from kubernetes 1.20.2 build/pause/linux/pause.c, not an upstream image"
K8S_OWNER_LABEL=io.glrunner.devstack=kubernetes

# Ports, all on 127.0.0.1.
K8S_ETCD_PORT=${GLRUNNER_K8S_ETCD_PORT:-2479}        # not 2379: leave the default to anyone else's etcd
K8S_ETCD_PEER_PORT=${GLRUNNER_K8S_ETCD_PEER_PORT:-2480}
K8S_API_PORT=${GLRUNNER_K8S_API_PORT:-6443}
K8S_KCM_PORT=10257                                   # controller-manager secure (health) port
K8S_SCHED_PORT=10259                                 # scheduler secure (health) port
K8S_KUBELET_HEALTHZ_PORT=10248
# The node is named by its address, as hack/local-up-cluster.sh does: a kubelet refuses --node-ip on
# loopback, but takes an IP given as --hostname-override as its InternalIP, which the API server dials.
K8S_NODE_NAME=127.0.0.1
K8S_SERVICE_CIDR=10.0.0.0/24
K8S_SERVICE_IP=10.0.0.1

K8S_API_URL="https://127.0.0.1:${K8S_API_PORT}"
K8S_ADMIN_KUBECONFIG="${K8S_STATE}/admin.kubeconfig"

APT_OPTS=(-y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends)

log() { printf 'kubernetes: %s\n' "$*" >&2; }
die() { printf 'kubernetes: error: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Install Debian packages that are missing (a no-op costing ~10 ms when all are present).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]} (apt output: $K8S_LOGS/kubernetes-apt.log)"
  mkdir -p "$K8S_LOGS"
  {
    DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${missing[@]}" \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${missing[@]}"; }
  } >>"$K8S_LOGS/kubernetes-apt.log" 2>&1 || die "could not install ${missing[*]} (see $K8S_LOGS/kubernetes-apt.log)"
}

# The deb-src entry for bookworm, mirroring the URIs (and snapshot comment) of debian.sources.
K8S_DEBSRC_FILE=/etc/apt/sources.list.d/glrunner-devstack-src.sources
ensure_deb_src() {
  if [[ ! -f $K8S_DEBSRC_FILE ]]; then
    local uri
    uri=$(awk '/^URIs:/ && !/security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    cat >"$K8S_DEBSRC_FILE" <<EOF
# Added by glrunner devstack/kubernetes: Debian's kubernetes source package, built into a local cluster.
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  if ! apt-cache showsrc --only-source "$K8S_SRC_PACKAGE" 2>/dev/null | grep -q '^Version:'; then
    log "apt-get update (source lists)"
    apt-get update -qq >&2 || die "apt-get update failed"
  fi
}

# Source package version apt would fetch (the highest listed).
k8s_source_version() {
  apt-cache showsrc --only-source "$K8S_SRC_PACKAGE" 2>/dev/null | awk '/^Version:/ { print $2 }' \
    | sort -V | tail -n1
}

# The cache key: the inputs that decide what the binaries are.
k8s_cache_key() {
  local here src go
  here=$(dirname "${BASH_SOURCE[0]}")
  src=$(k8s_source_version)
  [[ -n $src ]] || die "apt knows no source package '$K8S_SRC_PACKAGE' (is $K8S_DEBSRC_FILE present?)"
  go=$(go version 2>/dev/null) || die "'go' is not installed (golang-go)"
  # build.sh without its comment and blank lines: rewording a comment must not cost a rebuild.
  printf '%s\n%s\n%s\n' "$src" "$go" "$(grep -vE '^[[:space:]]*(#|$)' "$here/build.sh" | sha256sum)" \
    | sha256sum | cut -c1-16
}

k8s_bin_dir() { printf '%s/%s/bin\n' "$K8S_CACHE" "$1"; }

# Pid-file helpers: a daemon is "ours" only if its pid file names a live process with the expected name.
pid_of() {
  local f="$K8S_RUN/$1.pid" pid
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ -n $pid && -d /proc/$pid ]] || return 1
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$2"* ]] || return 1
  printf '%s\n' "$pid"
}
