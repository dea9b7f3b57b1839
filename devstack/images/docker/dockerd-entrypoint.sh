#!/bin/sh
# glrunner devstack stand-in for the entrypoint of the official docker:dind image.
# Behaviour follows that image's documentation:
#  - no arguments, or arguments starting with "-": run dockerd (those arguments appended);
#    it listens on unix:///var/run/docker.sock (or on the path of a unix:// DOCKER_HOST)
#    and on TCP: 2376 with verified TLS when DOCKER_TLS_CERTDIR is set (certificates
#    generated under it, reused while valid), else 2375 without TLS (--tls=false);
#  - "dockerd ...": run exactly that dockerd, after the same container preparation;
#  - anything else: handed to docker-entrypoint.sh (the docker:cli behaviour).
# Stand-in extras: storage driver overlay2 (vfs only where overlay2 cannot work), and the
# devstack registry as --registry-mirror (GLRUNNER_DEVSTACK_REGISTRY_MIRROR, baked in at
# build time; set it empty to get a daemon without a mirror).
set -eu

log() { echo "dockerd-entrypoint: $*" >&2; }

# ---- TLS certificates ------------------------------------------------------------
KEY_BITS=${DOCKER_TLS_KEY_BITS:-2048}

new_key() { [ -s "$1" ] || openssl genrsa -out "$1" "$KEY_BITS" 2>/dev/null; }

# cert_valid DIR: DIR/cert.pem exists, is signed by our CA and is not about to expire.
cert_valid() {
    [ -s "$1/cert.pem" ] && [ -s "$1/key.pem" ] &&
        openssl verify -CAfile "$CERTS/ca/cert.pem" "$1/cert.pem" >/dev/null 2>&1 &&
        openssl x509 -checkend 86400 -noout -in "$1/cert.pem" >/dev/null 2>&1
}

# sign DIR CN EXTENSIONS: key + certificate in DIR signed by the CA.
sign() {
    new_key "$1/key.pem"
    printf '%s\n' "$3" >"$1/openssl.cnf"
    openssl req -new -key "$1/key.pem" -subj "/CN=$2" -out "$1/csr.pem"
    openssl x509 -req -in "$1/csr.pem" -CA "$CERTS/ca/cert.pem" -CAkey "$CERTS/ca/key.pem" \
        -CAcreateserial -days 825 -extfile "$1/openssl.cnf" -out "$1/cert.pem" 2>/dev/null
    rm -f "$1/csr.pem" "$1/openssl.cnf"
    cp "$CERTS/ca/cert.pem" "$1/ca.pem"
}

# server_sans: the names and addresses clients may use to reach this daemon.
server_sans() {
    sans="DNS:$(hostname),DNS:docker,DNS:localhost,IP:127.0.0.1"
    for ip in $(hostname -I 2>/dev/null); do sans="$sans,IP:$ip"; done
    for extra in $(echo "${DOCKER_TLS_SAN:-}" | tr ',' ' '); do sans="$sans,$extra"; done
    echo "$sans"
}

make_certs() {
    CERTS=$1
    mkdir -p "$CERTS/ca" "$CERTS/server" "$CERTS/client"
    chmod 0700 "$CERTS/ca" # the CA key never leaves this container's volume
    if ! [ -s "$CERTS/ca/cert.pem" ] || ! openssl x509 -checkend 86400 -noout -in "$CERTS/ca/cert.pem" >/dev/null 2>&1; then
        log "generating a CA in $CERTS/ca"
        new_key "$CERTS/ca/key.pem"
        openssl req -new -x509 -key "$CERTS/ca/key.pem" -subj "/CN=docker:dind CA" -days 825 \
            -out "$CERTS/ca/cert.pem"
        rm -f "$CERTS/server/cert.pem" "$CERTS/client/cert.pem"
    fi
    if ! cert_valid "$CERTS/server"; then
        log "generating the server certificate in $CERTS/server"
        sign "$CERTS/server" docker:dind "$(printf '%s\n' \
            "subjectAltName=$(server_sans)" "extendedKeyUsage=serverAuth" "keyUsage=digitalSignature,keyEncipherment")"
    fi
    if ! cert_valid "$CERTS/client"; then
        log "generating the client certificate in $CERTS/client"
        sign "$CERTS/client" docker:dind-client "$(printf '%s\n' \
            "extendedKeyUsage=clientAuth" "keyUsage=digitalSignature,keyEncipherment")"
    fi
    # A client container sharing $CERTS/client (any user) must be able to read all three.
    chmod 0755 "$CERTS/client"
    chmod 0644 "$CERTS/client/ca.pem" "$CERTS/client/cert.pem" "$CERTS/client/key.pem"
}

# ---- dockerd arguments -----------------------------------------------------------
has_arg() { # NAME ARGS...: some argument is NAME or NAME=...
    name=$1
    shift
    for a in "$@"; do
        case $a in "$name" | "$name"=*) return 0 ;; esac
    done
    return 1
}

# storage_driver: overlay2, unless /var/lib/docker cannot hold overlay2 layers.
storage_driver() {
    fs=$(stat -f -c %T /var/lib/docker 2>/dev/null || echo unknown)
    case $fs in
        overlayfs | aufs)
            log "/var/lib/docker is on $fs (no volume mounted there?): overlay2 cannot work, using vfs (slow)"
            echo vfs ;;
        *) echo overlay2 ;;
    esac
}

# default_flags ARGS...: print, one per line, the flags dockerd gets besides the user's ARGS.
default_flags() {
    socket=unix:///var/run/docker.sock
    case ${DOCKER_HOST:-} in
        unix://*) socket=$DOCKER_HOST ;;
    esac
    mkdir -p "$(dirname "${socket#unix://}")"
    echo "--host=$socket"
    if [ -n "${DOCKER_TLS_CERTDIR:-}" ]; then
        make_certs "$DOCKER_TLS_CERTDIR" >&2
        echo "--host=tcp://0.0.0.0:2376"
        echo "--tlsverify"
        echo "--tlscacert=$DOCKER_TLS_CERTDIR/server/ca.pem"
        echo "--tlscert=$DOCKER_TLS_CERTDIR/server/cert.pem"
        echo "--tlskey=$DOCKER_TLS_CERTDIR/server/key.pem"
    else
        log "DOCKER_TLS_CERTDIR is empty: serving plain TCP on 2375 without TLS"
        echo "--host=tcp://0.0.0.0:2375"
        echo "--tls=false"
    fi
    has_arg --storage-driver "$@" || has_arg -s "$@" || echo "--storage-driver=$(storage_driver)"
    mirror=${GLRUNNER_DEVSTACK_REGISTRY_MIRROR:-}
    if [ -n "$mirror" ]; then
        echo "--registry-mirror=$mirror"
        echo "--insecure-registry=${mirror#*://}"
    fi
}

# ---- container preparation ---------------------------------------------------------
prepare_container() {
    find /run /var/run -maxdepth 2 -iname 'docker*.pid' -delete 2>/dev/null || :
    if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
        mount -t securityfs none /sys/kernel/security 2>/dev/null || :
    fi
    mount --make-rshared / 2>/dev/null || log "could not make / rshared (is the container --privileged?)"
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        # cgroup v2: move ourselves out of the root so dockerd may delegate controllers.
        mkdir -p /sys/fs/cgroup/init
        xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
        sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
            >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
    fi
}

# exec_dockerd ARGS...: dockerd as the main process; under tini when we are PID 1, so
# orphans are reaped and `docker stop` (SIGTERM) reaches dockerd at once.
exec_dockerd() {
    prepare_container
    if [ "$$" = 1 ] && command -v tini >/dev/null; then
        exec tini -- "$@"
    fi
    exec "$@"
}

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    flags=$(default_flags "$@")
    set -f
    IFS='
'
    # shellcheck disable=SC2086 # split on newlines only: one flag per line
    set -- dockerd $flags "$@"
    unset IFS
    set +f
fi

if [ "$1" = dockerd ]; then
    exec_dockerd "$@"
fi
exec docker-entrypoint.sh "$@"
