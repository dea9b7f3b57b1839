"""The shell snippets the Kubernetes executor runs inside the build container. Pure: text only.

They need nothing but a POSIX `sh` with `head` and (for the upload) `tar`, as found in busybox,
Alpine and Debian images: no helper image, no `nc`, no `ps`.
"""

from __future__ import annotations

from glrunner.shells.bash import DETECT_SHELL_SCRIPT

# The stage script arrives on stdin: exactly $1 bytes (a websocket exec cannot close stdin alone, so
# the length marks the end), saved to $2, then run by the shell GitLab's detection picks. One exec
# per stage; stderr joins stdout so the two keep their order in the trace.
_STAGE = """head -c "$1" > "$2" || { echo "glrunner: cannot write the stage script to $2" >&2; exit 1; }
exec sh -c "$3" sh "$2" 2>&1
"""

# The project archive (paths relative to /) arrives on stdin, exactly $1 bytes.
_UPLOAD = 'head -c "$1" | tar -x -f - -C /'

# Readiness of services: every port given must be in LISTEN state in the pod's network namespace,
# which all containers of a pod share. Read from /proc/net/tcp{,6}, so no client tool is needed.
_PROBE = r"""want=""
for port in "$@"; do want="$want $(printf '%04X' "$port")"; done
while :; do
  missing=0
  for hex in $want; do
    found=0
    for table in /proc/net/tcp /proc/net/tcp6; do
      [ -r "$table" ] || continue
      while read -r _ local _ state _; do
        case "$local:$state" in *:"$hex":0A) found=1; break ;; esac
      done < "$table"
      [ "$found" = 1 ] && break
    done
    [ "$found" = 1 ] || { missing=1; break; }
  done
  [ "$missing" = 0 ] && exit 0
  sleep 0.1 2>/dev/null || sleep 1
done
"""

# Stop a running stage: SIGTERM to every process of the container but PID 1 (the keep-alive
# below), its own `sleep` and this script, then SIGKILL to what is left after $1 tenths of a
# second. Builtins only between the sweeps, so a sweep never meets a process of its own.
_STOP = r"""tenths=$1
self=$$
sweep() {
  alive=0
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    if [ "$pid" = 1 ] || [ "$pid" = "$self" ]; then continue; fi
    name=; state=; parent=
    while read -r key value _; do
      case "$key" in Name:) name=$value ;; State:) state=$value ;; PPid:) parent=$value; break ;; esac
    done 2>/dev/null < "$dir/status" || continue
    if [ "$state" = Z ] || { [ "$parent" = 1 ] && [ "$name" = sleep ]; }; then continue; fi
    if kill -"$1" "$pid" 2>/dev/null; then alive=$((alive + 1)); fi
  done
}
sweep TERM
waited=0
while [ "$alive" -gt 0 ] && [ "$waited" -lt "$tenths" ]; do
  sleep 0.1 2>/dev/null || sleep 1
  waited=$((waited + 1))
  sweep 0
done
if [ "$alive" -gt 0 ]; then sweep KILL; fi
exit 0
"""

# The build container's main process only keeps the pod alive between stages (the stages are
# exec'd). Unlike GitLab's (a shell reading stdin, which as PID 1 ignores SIGTERM and so holds
# every finished pod for its whole termination grace period), it ends at once on SIGTERM.
_KEEPALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"


def container_shell() -> list[str]:
    """The build container's command (or args, when the image's ENTRYPOINT is honoured)."""
    return ["sh", "-c", _KEEPALIVE]


def stage_command(path: str, size: int) -> list[str]:
    return ["sh", "-c", _STAGE, "sh", str(size), path, DETECT_SHELL_SCRIPT]


def upload_command(size: int) -> list[str]:
    return ["sh", "-c", _UPLOAD, "sh", str(size)]


def probe_command(ports: list[int]) -> list[str]:
    return ["sh", "-c", _PROBE, "sh", *(str(p) for p in ports)]


def stop_command(grace_seconds: float) -> list[str]:
    return ["sh", "-c", _STOP, "sh", str(int(grace_seconds * 10))]
