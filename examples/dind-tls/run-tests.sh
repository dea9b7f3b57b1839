#!/bin/sh
# The "tests" of the example image: they run inside a container that the job built and
# started through the Docker-in-Docker daemon.
set -eu
echo "tests: running in $(hostname) ${GREETING:+($GREETING)}"
echo "tests: kernel $(uname -r), $(nproc) cpus"
echo "tests: all passed"
