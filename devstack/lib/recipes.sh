# shellcheck shell=bash
# The stand-in images: for each, a hash of its build inputs and a build function.
# `ensure_stand_in HASH BUILD REF ALIASES...` (lib/images.sh) builds only on a hash change.

DOCKER_VERSION_TAG=24.0.5
DIND_TAGS=("docker:$DOCKER_VERSION_TAG-dind" docker:24.0-dind docker:24-dind docker:dind docker:stable-dind
    "docker:$DOCKER_VERSION_TAG" docker:24.0 docker:24 docker:latest docker:stable)
CLI_TAGS=("docker:$DOCKER_VERSION_TAG-cli" docker:24.0-cli docker:24-cli docker:cli)

pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# --- busybox:latest: busybox-static, one binary plus links (~2 MB) -----------------
hash_busybox() { inputs_hash "$(pkg_version busybox-static)" fn:busybox_rootfs fn:build_busybox; }
build_busybox() {
    local tmp
    tmp=$(mktemp -d)
    busybox_rootfs "$tmp/root"
    tar --numeric-owner -C "$tmp/root" -c . | import_stand_in "$2" "$1" 'CMD ["sh"]'
    rm -rf "$tmp"
}

# --- debian:bookworm-slim: the debootstrap minbase rootfs ------------------------------
hash_debian() { inputs_hash "$(debootstrap_key slim "")" fn:build_debian; }
build_debian() {
    import_stand_in "$2" "$1" 'CMD ["bash"]' <"$(cached_debootstrap slim "")"
}

# --- registry:2: Debian's docker-registry binary (+ libc) on busybox ----------------
hash_registry() {
    inputs_hash "$(pkg_version docker-registry)" "$(pkg_version busybox-static)" "$(pkg_version libc6)" \
        dir:registry fn:busybox_rootfs fn:build_registry
}
build_registry() {
    local tmp lib
    tmp=$(mktemp -d)
    busybox_rootfs "$tmp/root"
    install -D -m 0755 /usr/bin/docker-registry "$tmp/root/bin/registry"
    for lib in $(ldd /usr/bin/docker-registry | grep -o '/[^ ]*'); do
        install -D -m 0755 "$(readlink -f "$lib")" "$tmp/root$lib"
    done
    install -D -m 0644 "$IMAGES_DIR/registry/config.yml" "$tmp/root/etc/docker/registry/config.yml"
    install -D -m 0755 "$IMAGES_DIR/registry/entrypoint.sh" "$tmp/root/entrypoint.sh"
    mkdir -p "$tmp/root/var/lib/registry"
    tar --numeric-owner -C "$tmp/root" -c . | import_stand_in "$2" "$1" \
        'EXPOSE 5000' 'VOLUME ["/var/lib/registry"]' \
        'ENTRYPOINT ["/entrypoint.sh"]' 'CMD ["/etc/docker/registry/config.yml"]'
    rm -rf "$tmp"
}

# --- docker:*-dind and docker:*-cli: one Debian rootfs with docker.io, two entrypoints --
hash_docker_base() { inputs_hash "$(debootstrap_key docker "$DOCKER_ROOTFS_PACKAGES")" fn:ensure_docker_base; }

# ensure_docker_base: the shared base layer (imported rootfs), as DOCKER_BASE.
ensure_docker_base() {
    DOCKER_BASE=glrunner-devstack/docker-rootfs:$DOCKER_BASE_HASH
    [ "$(image_label "$DOCKER_BASE" "$HASH_LABEL")" = "$DOCKER_BASE_HASH" ] ||
        import_stand_in "$DOCKER_BASE_HASH" "$DOCKER_BASE" <"$(cached_debootstrap docker "$DOCKER_ROOTFS_PACKAGES")"
}

# docker_context DIR: the build context shared by dind and cli (entrypoints, /certs).
docker_context() {
    mkdir -p "$1/rootfs/usr/local/bin" "$1/rootfs/certs/client"
    chmod 1777 "$1/rootfs/certs" "$1/rootfs/certs/client"
    install -m 0755 "$IMAGES_DIR/docker/dockerd-entrypoint.sh" "$IMAGES_DIR/docker/docker-entrypoint.sh" \
        "$1/rootfs/usr/local/bin/"
    cp "$IMAGES_DIR/docker/Dockerfile.dind" "$IMAGES_DIR/docker/Dockerfile.cli" "$1/"
}

hash_dind() { inputs_hash "$DOCKER_BASE_HASH" "$BRIDGE_REGISTRY_ADDR" dir:docker fn:docker_context fn:build_dind; }
build_dind() {
    local tmp
    tmp=$(mktemp -d)
    docker_context "$tmp"
    ensure_docker_base
    build_stand_in "$2" "$1" "$tmp/Dockerfile.dind" "$tmp" "BASE=$DOCKER_BASE" \
        "REGISTRY_MIRROR=http://$BRIDGE_REGISTRY_ADDR"
    rm -rf "$tmp"
}

hash_cli() { inputs_hash "$DOCKER_BASE_HASH" "$(hash_busybox)" dir:docker fn:docker_context fn:build_cli; }
build_cli() {
    local tmp
    tmp=$(mktemp -d)
    docker_context "$tmp"
    mkdir -p "$tmp/rootfs/opt/glrunner-devstack/images"
    "$DOCKER" save -o "$tmp/rootfs/opt/glrunner-devstack/images/busybox.tar" busybox:latest
    chmod 0644 "$tmp/rootfs/opt/glrunner-devstack/images/busybox.tar"
    ensure_docker_base
    build_stand_in "$2" "$1" "$tmp/Dockerfile.cli" "$tmp" "BASE=$DOCKER_BASE"
    rm -rf "$tmp"
}

# ensure_all_images: every stand-in but busybox (up does that one first, for the probe).
ensure_all_images() {
    local h_debian h_registry h_dind h_cli pid pids=()
    DOCKER_BASE_HASH=$(hash_docker_base)
    h_debian=$(hash_debian) h_registry=$(hash_registry) h_dind=$(hash_dind) h_cli=$(hash_cli)
    # The two debootstraps are the slow part of a cold start: when a build is due, run
    # them side by side (each is cached, so this is a no-op when the cache has them).
    if [ "$(image_label debian:bookworm-slim "$HASH_LABEL")" != "$h_debian" ] ||
        [ "$(image_label "${DIND_TAGS[0]}" "$HASH_LABEL")" != "$h_dind" ] ||
        [ "$(image_label "${CLI_TAGS[0]}" "$HASH_LABEL")" != "$h_cli" ]; then
        cached_debootstrap slim "" >/dev/null & pids+=($!)
        cached_debootstrap docker "$DOCKER_ROOTFS_PACKAGES" >/dev/null & pids+=($!)
        for pid in "${pids[@]}"; do wait "$pid" || die "building a Debian rootfs failed"; done
    fi
    ensure_stand_in "$h_debian" build_debian debian:bookworm-slim debian:bookworm debian:12-slim
    ensure_stand_in "$h_registry" build_registry registry:2 registry:latest
    ensure_stand_in "$h_dind" build_dind "${DIND_TAGS[@]}"
    ensure_stand_in "$h_cli" build_cli "${CLI_TAGS[@]}"
}
