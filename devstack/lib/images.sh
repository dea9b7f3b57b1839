# shellcheck shell=bash
# shellcheck disable=SC2034 # some settings below are used by lib/recipes.sh
# Stand-in images: build only when missing (keyed by a hash of their build inputs),
# push to the local registry, keep present in the engine.

IMAGES_DIR="$DEVSTACK_DIR/images"
HASH_LABEL="io.glrunner.devstack.input-hash"
DESCRIPTION="glrunner devstack stand-in, built from Debian packages, not the upstream image"
DEBIAN_MIRROR="${GLRUNNER_DEVSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
DOCKER_ROOTFS_PACKAGES="docker.io,iptables,ca-certificates,openssl,procps"

# --- hashing -----------------------------------------------------------------
# inputs_hash WORDS...: sha256 (16 hex) over WORDS, where "dir:PATH" (PATH under images/)
# contributes the files' contents, "fn:NAME" a shell function's text, anything else itself.
inputs_hash() {
    local w
    for w in "$@"; do
        case $w in
            fn:*) declare -f "${w#fn:}" ;;
            dir:*) (cd "$IMAGES_DIR" && find "${w#dir:}" -type f -print0 | sort -z | xargs -0 sha256sum) ;;
            *) printf '%s\n' "$w" ;;
        esac
    done | sha256sum | cut -c1-16
}

image_label() { # IMAGE LABEL -> value or empty
    "$DOCKER" image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

stand_in_changes() { # HASH -> --change args that mark an image as a stand-in
    printf '%s\n' --change "LABEL org.opencontainers.image.description=\"$DESCRIPTION\"" \
        --change "LABEL $HASH_LABEL=$1" --change "LABEL $DEVSTACK_LABEL=stand-in"
}

# --- rootfs helpers ---------------------------------------------------------
# busybox_rootfs DIR: busybox-static with its applet links and a minimal /etc.
busybox_rootfs() {
    local d=$1 link
    mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home,proc,sys,dev}
    chmod 1777 "$d/tmp" "$d/var/tmp"
    install -m 0755 /bin/busybox "$d/bin/busybox"
    for link in $(/bin/busybox --list-full); do
        [ -e "$d/$link" ] || ln -s /bin/busybox "$d/$link"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$d/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
}

# cached_debootstrap NAME INCLUDE: print the path of a cached rootfs tarball, building it
# (debootstrap minbase) when the cache lacks it. Slow (~50 s); runs once per machine.
cached_debootstrap() {
    local name=$1 include=$2 tarball tmp
    tarball="$CACHE_DIR/rootfs-$name-$(debootstrap_key "$name" "$include").tar"
    if [ ! -s "$tarball" ]; then
        mkdir -p "$CACHE_DIR"
        tmp=$(mktemp -d "$CACHE_DIR/.debootstrap-$name.XXXXXX")
        debootstrap --variant=minbase ${include:+--include="$include"} "$SUITE" "$tmp/root" "$DEBIAN_MIRROR" \
            >"$LOG_DIR/debootstrap-$name.log" 2>&1 ||
            { rm -rf "$tmp"; die "debootstrap $name failed; see $LOG_DIR/debootstrap-$name.log"; }
        slim_rootfs "$tmp/root"
        tar --numeric-owner -C "$tmp/root" -cf "$tmp/rootfs.tar" .
        mv "$tmp/rootfs.tar" "$tarball"
        rm -rf "$tmp"
        find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$name-*.tar" ! -name "$(basename "$tarball")" -delete
    fi
    echo "$tarball"
}

debootstrap_key() { # NAME INCLUDE
    inputs_hash "$1" "$2" "$SUITE" "$DEBIAN_MIRROR" fn:cached_debootstrap fn:slim_rootfs
}

# slim_rootfs DIR: drop what an image does not need (package caches, docs).
slim_rootfs() {
    rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/var/log/*.log \
        "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/locale/*
    : >"$1/etc/hostname"
    printf 'nameserver 127.0.0.1\n' >"$1/etc/resolv.conf" # replaced by the engine at run time
}

# --- ensure / publish ---------------------------------------------------------
registry_digest() { # NAME TAG -> manifest digest in our registry, or nothing
    curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "$REGISTRY_URL/v2/library/$1/manifests/$2" 2>/dev/null |
        tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }' || true
}

split_ref() { name=${1%%:*}; tag=${1#*:}; }

# publish REF: push REF to the registry as $REGISTRY_ADDR/library/REF unless the registry
# already holds what we last pushed for this image. Sets PUSHED=1 when it pushed.
publish() {
    local ref=$1 name tag id digest record mirror
    split_ref "$ref"
    id=$("$DOCKER" image inspect --format '{{.Id}}' "$ref")
    record="$STATE_DIR/pushed/$name:$tag"
    digest=$(registry_digest "$name" "$tag")
    if [ -n "$digest" ] && [ "$(cat "$record" 2>/dev/null)" = "$id $digest" ]; then return; fi
    mirror="$REGISTRY_ADDR/library/$name:$tag"
    "$DOCKER" tag "$ref" "$mirror"
    "$DOCKER" push "$mirror" >>"$LOG_DIR/push.log" 2>&1 || die "docker push $mirror failed; see $LOG_DIR/push.log"
    "$DOCKER" rmi "$mirror" >/dev/null # only the extra tag; the image stays as $ref
    digest=$(registry_digest "$name" "$tag")
    mkdir -p "$STATE_DIR/pushed"
    echo "$id $digest" >"$record"
    PUSHED=1
}

# pull_from_registry REF HASH: take REF from our registry when it holds the same build.
pull_from_registry() {
    local ref=$1 name tag mirror
    split_ref "$ref"
    [ -n "$(registry_digest "$name" "$tag")" ] || return 1
    mirror="$REGISTRY_ADDR/library/$name:$tag"
    "$DOCKER" pull "$mirror" >/dev/null 2>&1 || return 1
    if [ "$(image_label "$mirror" "$HASH_LABEL")" = "$2" ]; then
        "$DOCKER" tag "$mirror" "$ref"
        "$DOCKER" rmi "$mirror" >/dev/null
        return 0
    fi
    "$DOCKER" rmi "$mirror" >/dev/null 2>&1 || true
    return 1
}

# forget_old_stand_in ID: remove a superseded stand-in once no tag names it (never
# another's tag), unless a container still uses it (then docker refuses, harmlessly).
forget_old_stand_in() {
    [ "$(image_label "$1" "$DEVSTACK_LABEL")" = stand-in ] || return 0
    [ "$("$DOCKER" image inspect --format '{{len .RepoTags}}' "$1" 2>/dev/null)" = 0 ] || return 0
    "$DOCKER" rmi "$1" >/dev/null 2>&1 || true
}

# ensure_stand_in HASH BUILD_FN REF [ALIAS...]: REF (and its aliases) present with the
# given input hash, built by BUILD_FN REF HASH only when neither engine nor registry has it.
ensure_stand_in() {
    local hash=$1 build=$2 ref=$3 what alias id old=""
    shift 3
    clock_start
    if [ "$(image_label "$ref" "$HASH_LABEL")" = "$hash" ]; then
        what=present
    elif pull_from_registry "$ref" "$hash"; then
        what="pulled from the registry"
    else
        old=$("$DOCKER" image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
        "$build" "$ref" "$hash"
        [ "$(image_label "$ref" "$HASH_LABEL")" = "$hash" ] || die "building $ref did not produce an image labelled $hash"
        what=built
    fi
    id=$("$DOCKER" image inspect --format '{{.Id}}' "$ref")
    for alias in "$@"; do
        [ "$("$DOCKER" image inspect --format '{{.Id}}' "$alias" 2>/dev/null)" = "$id" ] || "$DOCKER" tag "$ref" "$alias"
    done
    [ -z "$old" ] || [ "$old" = "$id" ] || forget_old_stand_in "$old"
    PUSHED=0
    for alias in "$ref" "$@"; do
        publish "$alias"
    done
    [ "$PUSHED" = 0 ] || what="$what, pushed"
    report "image $ref${1:+ (+ $# tags)}" "$what"
}

# import_stand_in HASH REF [DOCKERFILE-INSTRUCTION...]: docker import a rootfs tar from
# stdin as REF, labelled as a stand-in with input hash HASH.
import_stand_in() {
    local hash=$1 ref=$2 changes=() i
    shift 2
    mapfile -t changes < <(stand_in_changes "$hash")
    for i in "$@"; do changes+=(--change "$i"); done
    "$DOCKER" import "${changes[@]}" - "$ref" >/dev/null
}

# build_stand_in HASH REF DOCKERFILE CONTEXT [BUILD-ARG...]: docker build, labelled.
build_stand_in() {
    local hash=$1 ref=$2 file=$3 ctx=$4 args=() a
    shift 4
    for a in "$@"; do args+=(--build-arg "$a"); done
    "$DOCKER" build -q -f "$file" "${args[@]}" --label "org.opencontainers.image.description=$DESCRIPTION" \
        --label "$HASH_LABEL=$hash" --label "$DEVSTACK_LABEL=stand-in" -t "$ref" "$ctx" \
        >>"$LOG_DIR/build.log" 2>&1 || die "docker build of $ref failed; see $LOG_DIR/build.log"
}
