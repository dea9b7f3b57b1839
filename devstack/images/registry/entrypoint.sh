#!/bin/sh
# glrunner devstack stand-in for the entrypoint of the official registry:2 image:
# a config file argument means `registry serve FILE`; a registry subcommand or a flag
# goes to the registry binary; anything else is executed as given.
set -e
case ${1:-} in
    *.yml | *.yaml) set -- registry serve "$@" ;;
    serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
