# shellcheck shell=bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet (1.20.2, Debian's source package)
# and a static pause binary, once per cache key. Sourced by devstack/kubernetes after lib.sh.
# This file's code (not its comment lines) is part of the cache key: changing it means a rebuild.

K8S_BUILD_DEPS=(golang-go golang-github-modern-go-reflect2-dev make gcc libc6-dev dpkg-dev rsync)
REFLECT2_DEBIAN=/usr/share/gocode/src/github.com/modern-go/reflect2

k8s_binaries_present() {
  local dir=$1 b
  for b in "${K8S_BINARIES[@]}" pause; do [[ -x $dir/$b ]] || return 1; done
  [[ -f $dir/../BUILD-INFO ]]
}

# Fetch the source package into the cache (kept: 35 MB, so a rebuild needs no network).
k8s_fetch_source() {
  local version=$1 src="$K8S_CACHE/src" upstream
  upstream=${version#*:}; upstream=${upstream%-*}
  mkdir -p "$src"
  if ! compgen -G "$src/${K8S_SRC_PACKAGE}_${version#*:}.dsc" >/dev/null \
     || ! compgen -G "$src/${K8S_SRC_PACKAGE}_${upstream}.orig.tar.*" >/dev/null; then
    log "downloading source package $K8S_SRC_PACKAGE $version"
    mkdir -p "$K8S_LOGS"
    (cd "$src" && apt-get source --download-only -qq "$K8S_SRC_PACKAGE=$version") >>"$K8S_LOGS/kubernetes-apt.log" 2>&1 \
      || die "apt-get source $K8S_SRC_PACKAGE=$version failed (see $K8S_LOGS/kubernetes-apt.log)"
  fi
  printf '%s/%s_%s.dsc\n' "$src" "$K8S_SRC_PACKAGE" "${version#*:}"
}

# Unpack with Debian's patches applied (they touch kubectl printing only, but this is Debian's tree).
k8s_unpack() {
  local dsc=$1 tree=$2
  dpkg-source --no-check -x "$dsc" "$tree" >/dev/null || die "dpkg-source -x $dsc failed"
  # reflect2 1.0.1 (vendored) crashes at run time on Go >= 1.18; Debian's 1.0.2 is API-compatible.
  [[ -d $REFLECT2_DEBIAN ]] || die "$REFLECT2_DEBIAN missing (golang-github-modern-go-reflect2-dev)"
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
  find "$REFLECT2_DEBIAN" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name LICENSE \) \
    ! -name '*_test.go' -exec cp {} "$tree/vendor/github.com/modern-go/reflect2/" \;
}

# The release tarball carries every generated file except pkg/generated/openapi: generate only that,
# then build the four commands in one `go install` (shared packages compile once).
k8s_compile() {
  local tree=$1 t
  mkdir -p "$tree/.go/src/k8s.io"
  ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
  (
    cd "$tree" || exit 1
    # GOFLAGS empty: hack/lib/golang.sh parses it for -tags.
    export GOPATH="$tree/.go" GOPROXY=off GO111MODULE=off CGO_ENABLED=0 GOFLAGS='' HOME="$tree/.home"
    export GOCACHE="$tree/.gocache" KUBE_VERBOSE=0
    t=$(now)
    make gen_openapi >&2 || exit 1
    log "openapi generated in $(elapsed "$t") s"
    t=$(now)
    hack/make-rules/build.sh "${K8S_BINARIES[@]/#/cmd/}" >&2 || exit 1
    log "binaries compiled in $(elapsed "$t") s"
  ) || die "compiling kubernetes failed (tree kept at $tree for inspection)"
}

k8s_build_pause() {
  local tree=$1 out=$2
  gcc -Os -Wall -Werror -static -DVERSION=v3.4.1-glrunner-devstack \
    -o "$out/pause" "$tree/build/pause/linux/pause.c" || die "gcc -static pause.c failed"
  strip "$out/pause"
}

# Drop binaries of other keys (older sources, toolchains or build scripts) unless a daemon we started
# still runs from them; the source tarballs stay.
k8s_prune_cache() {
  local keep=$1 dir pidf in_use
  for dir in "$K8S_CACHE"/*/; do
    dir=${dir%/}
    [[ -f $dir/BUILD-INFO && ${dir##*/} != "$keep" ]] || continue
    in_use=
    for pidf in "$K8S_RUN"/*.pid; do
      [[ -f $pidf ]] && [[ $(readlink "/proc/$(<"$pidf")/exe" 2>/dev/null) == "$dir"/* ]] && in_use=1
    done
    [[ -n $in_use ]] || { rm -rf "$dir"; log "removed stale build ${dir##*/}"; }
  done
}

# Entry point: prints the bin directory holding the binaries.
k8s_build() {
  local key bin version dsc tree t0 partial
  ensure_deb_src
  ensure_packages "${K8S_BUILD_DEPS[@]}"
  version=$(k8s_source_version)
  key=$(k8s_cache_key)
  bin=$(k8s_bin_dir "$key")
  if k8s_binaries_present "$bin"; then
    log "binaries cached in $bin"
    printf '%s\n' "$bin"; return 0
  fi
  mkdir -p "$K8S_CACHE"
  exec {lockfd}>"$K8S_CACHE/.build.lock"
  flock "$lockfd"
  if k8s_binaries_present "$bin"; then   # another build finished while we waited
    printf '%s\n' "$bin"; return 0
  fi
  rm -rf /var/tmp/glrunner-devstack-k8s-build.*   # trees left by failed builds (ours, under the lock)
  t0=$(now)
  log "building $K8S_SRC_PACKAGE $version with $(go version | cut -d' ' -f3) (cache key $key); this takes ~10 min"
  dsc=$(k8s_fetch_source "$version")
  tree=$(mktemp -d /var/tmp/glrunner-devstack-k8s-build.XXXXXX)
  k8s_unpack "$dsc" "$tree/src"
  k8s_compile "$tree/src"
  partial="$K8S_CACHE/$key.partial"
  rm -rf "$partial"; mkdir -p "$partial/bin"
  cp "${K8S_BINARIES[@]/#/$tree/src/_output/bin/}" "$partial/bin/"
  k8s_build_pause "$tree/src" "$partial/bin"
  printf 'source %s\ngo %s\nbuilt %s\nseconds %s\n' "$version" "$(go version)" "$(date -Is)" \
    "$(elapsed "$t0")" >"$partial/BUILD-INFO"
  rm -rf "${K8S_CACHE:?}/$key"; mv "$partial" "$K8S_CACHE/$key"
  rm -rf "$tree"
  k8s_prune_cache "$key"
  log "built in $(elapsed "$t0") s -> $bin ($(du -sh "$bin" | cut -f1))"
  printf '%s\n' "$bin"
}
