#!/bin/sh
# glrunner devstack stand-in for the entrypoint of the official docker:cli image.
# Behaviour follows that image's documentation:
#  - a first argument starting with "-" or naming a docker subcommand runs `docker ARGS`;
#    anything else is executed as given (so `sh -c '...'` works);
#  - without DOCKER_HOST, talk to the service called "docker": tcp://docker:2376 with
#    verified TLS when client certificates exist under $DOCKER_TLS_CERTDIR/client (or
#    DOCKER_TLS_VERIFY is set), else tcp://docker:2375;
#  - for a tcp:// DOCKER_HOST and certificates found there, DOCKER_TLS_VERIFY=1 and
#    DOCKER_CERT_PATH=$DOCKER_TLS_CERTDIR/client unless the caller set either.
# Certificates are looked for once, at start; nothing waits for them.
set -e

client_certs_found() {
    [ -n "${DOCKER_TLS_CERTDIR:-}" ] &&
        [ -s "$DOCKER_TLS_CERTDIR/client/ca.pem" ] &&
        [ -s "$DOCKER_TLS_CERTDIR/client/cert.pem" ] &&
        [ -s "$DOCKER_TLS_CERTDIR/client/key.pem" ]
}

if [ "$#" -gt 0 ]; then
    if [ "${1#-}" != "$1" ]; then
        set -- docker "$@"
    elif docker help "$1" >/dev/null 2>&1; then
        set -- docker "$@"
    fi
fi

if [ -z "${DOCKER_HOST:-}" ]; then
    if client_certs_found || [ -n "${DOCKER_TLS_VERIFY:-}" ]; then
        export DOCKER_HOST=tcp://docker:2376
    else
        export DOCKER_HOST=tcp://docker:2375
    fi
fi
case $DOCKER_HOST in
    tcp://*)
        if [ -z "${DOCKER_TLS_VERIFY:-}" ] && [ -z "${DOCKER_CERT_PATH:-}" ] && client_certs_found; then
            export DOCKER_TLS_VERIFY=1
            export DOCKER_CERT_PATH="$DOCKER_TLS_CERTDIR/client"
        fi
        ;;
esac

exec "$@"
