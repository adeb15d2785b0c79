#!/usr/bin/env bash
# Runs a command with a Docker engine that can run Lambda's provided.al2023 image for LAMBDA_ARCH
# (arm64 by default, the template's), DOCKER_HOST pointing at it, and stops what it started
# afterwards, however the command ends.
#
# - A Docker engine that already answers (yours, with its bridge, or DOCKER_HOST's) is used as it is.
# - Otherwise, as root, it installs Debian's docker.io if dockerd is missing and starts a dockerd of
#   its own: data root target/docker (images kept between runs), socket, pid file and exec root in
#   a temporary directory, no bridge and no iptables. Its containers get no private-range address:
#   they use the host's network (scripts/sam_host_network.py), so the functions reach the AWS
#   emulator on 127.0.0.1.
# - For an architecture that is not the machine's (arm64 on x86-64), the kernel needs
#   qemu-user-static's binfmt handler; as root it installs the package and registers the handler
#   when missing (and removes the registration again afterwards).
# - scripts/lambda-base-image.sh then builds the base image from Debian packages if Docker lacks it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lambda_arch=${LAMBDA_ARCH:-arm64}
mkdir -p "$root/target"

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() { # packages...
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; }
}

cleanups=()
cleanup() {
  local i
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docker_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if docker_answers; then
  echo "docker: using the engine that answers at ${DOCKER_HOST:-the default socket}" >&2
else
  if ! is_root || ! command -v apt-get >/dev/null; then
    echo "docker: no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}, and only root on a" \
      "Debian-like machine can set one up here. Install Docker (https://docs.docker.com/engine/install/)" \
      "and start it, or run as root." >&2
    exit 2
  fi
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    echo "docker: installing Debian's docker.io (apt-get install docker.io)" >&2
    apt_install docker.io
  fi
  # A unix socket path is limited to 108 bytes, and containerd's own sockets live under the exec
  # root: both go in a short temporary directory, not under a checkout that may be deep.
  run_dir=$(mktemp -d /tmp/inlet-docker.XXXXXX)
  # dockerd leaves its network namespace bind-mounted under the exec root: unmount what is there.
  cleanups+=("awk -v d='$run_dir/' 'index(\$2, d) == 1 { print \$2 }' /proc/mounts | sort -r | xargs -r umount; rm -rf '$run_dir'")
  echo "docker: starting a dockerd of its own (no bridge; data root target/docker; log target/dockerd.log)" >&2
  setsid dockerd \
    --data-root "$root/target/docker" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
    --host "unix://$run_dir/docker.sock" \
    --bridge none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    >"$root/target/dockerd.log" 2>&1 &
  dockerd_pid=$!
  # dockerd stops its containerd itself; give it the time it asks for (containers are gone by then).
  cleanups+=("kill -TERM $dockerd_pid 2>/dev/null; for _ in \$(seq 1 150); do kill -0 $dockerd_pid 2>/dev/null || break; sleep 0.2; done; kill -KILL -- -$dockerd_pid 2>/dev/null; wait $dockerd_pid 2>/dev/null")
  export DOCKER_HOST="unix://$run_dir/docker.sock"
  for _ in $(seq 1 300); do
    docker_answers && break
    kill -0 "$dockerd_pid" 2>/dev/null || { echo "docker: dockerd stopped; see target/dockerd.log" >&2; exit 1; }
    sleep 0.2
  done
  docker_answers || { echo "docker: dockerd did not answer in 60 s; see target/dockerd.log" >&2; exit 1; }
fi

# Another architecture's binaries run under qemu-user-static through the kernel's binfmt_misc; the
# F flag (in Debian's qemu-*.conf) opens the interpreter once, so that it works inside containers.
machine=$(uname -m)
case "$lambda_arch:$machine" in
  arm64:aarch64 | x86_64:x86_64) handler= ;;
  arm64:*) handler=qemu-aarch64 ;;
  x86_64:*) handler=qemu-x86_64 ;;
  *) echo "docker: unknown LAMBDA_ARCH $lambda_arch" >&2; exit 2 ;;
esac
binfmt=/proc/sys/fs/binfmt_misc
if [ -n "$handler" ] && [ ! -e "$binfmt/$handler" ] && is_root && command -v apt-get >/dev/null; then
  conf=/usr/lib/binfmt.d/$handler.conf
  if [ ! -e "$conf" ]; then
    echo "docker: installing Debian's qemu-user-static, to run $lambda_arch functions on $machine" >&2
    apt_install qemu-user-static
  fi
  [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
  echo "docker: registering $handler with the kernel's binfmt_misc (until this run ends)" >&2
  cat "$conf" >"$binfmt/register"
  cleanups+=("echo -1 >'$binfmt/$handler'")
fi

"$root/scripts/lambda-base-image.sh" "$lambda_arch"
"$@"
