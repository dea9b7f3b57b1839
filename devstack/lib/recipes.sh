# shellcheck shell=bash
# The stand-in image recipes (placeholder until the Debian-based images land).
ensure_all_images() { :; }
