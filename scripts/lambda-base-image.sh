#!/usr/bin/env bash
# Makes sure Docker has public.ecr.aws/lambda/provided:al2023-<ARCH>, the base image `sam local
# invoke` runs the functions on, and can run it. Nothing is pulled: no registry but the package
# ones is reachable here, so the image is built from Debian packages (the C library, busybox for
# the shell SAM's own image layer needs, the CA certificates) and tools/lambda-base-image/Dockerfile.
# An image already there (pulled by you, or built by an earlier run) is used as it is.
# Usage: scripts/lambda-base-image.sh arm64|x86_64
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:?usage: scripts/lambda-base-image.sh arm64|x86_64}
case "$arch" in
  arm64) deb_arch=arm64 platform=linux/arm64 ;;
  x86_64) deb_arch=amd64 platform=linux/amd64 ;;
  *) echo "lambda-base-image: unknown architecture $arch (arm64 or x86_64)" >&2; exit 2 ;;
esac
image="public.ecr.aws/lambda/provided:al2023-$arch"

if ! docker image inspect "$image" >/dev/null 2>&1; then
  command -v apt-get >/dev/null || {
    echo "lambda-base-image: $image is missing and this machine has no apt-get to build it from" \
      "Debian packages; pull it instead: docker pull --platform $platform $image" >&2
    exit 2
  }
  echo "lambda-base-image: building $image from Debian packages (no pull)" >&2
  work="$root/target/lambda-base/$arch"
  rm -rf "$work/context" "$work/debs"
  mkdir -p "$work/apt/state/lists/partial" "$work/apt/cache/archives/partial" "$work/debs" "$work/context/rootfs"
  : >"$work/apt/status"
  # apt of its own (lists, cache, an empty dpkg status) for the target architecture, reading the
  # machine's sources: the machine's own apt state and architectures are left as they are.
  apt_options=(
    -o "Dir::State=$work/apt/state" -o "Dir::State::status=$work/apt/status"
    -o "Dir::Cache=$work/apt/cache" -o "APT::Architecture=$deb_arch" -o "APT::Architectures::=$deb_arch"
  )
  apt-get "${apt_options[@]}" -qq update
  if ! (cd "$work/debs" && apt-get "${apt_options[@]}" -qq download \
    "libc6:$deb_arch" "busybox-static:$deb_arch" ca-certificates) >"$work/download.log" 2>&1; then
    cat "$work/download.log" >&2
    echo "lambda-base-image: could not download the $deb_arch packages from this machine's apt sources" >&2
    exit 1
  fi
  rootfs="$work/context/rootfs"
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
  rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/lintian" "$rootfs/usr/share/locale"
  # The shell and the few commands SAM's image layer and `sam local` run; busybox is static.
  for applet in sh mv chmod cp rm mkdir cat ls env; do ln -sf busybox "$rootfs/bin/$applet"; done
  # The bundle ca-certificates' own script would make, where AL2023 and Debian each look for it.
  mkdir -p "$rootfs/etc/pki/tls/certs" "$rootfs/etc/ssl/certs"
  cat "$rootfs"/usr/share/ca-certificates/mozilla/*.crt >"$rootfs/etc/pki/tls/certs/ca-bundle.crt"
  ln -sf /etc/pki/tls/certs/ca-bundle.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$rootfs/tmp" "$rootfs/var/task" "$rootfs/var/runtime" "$rootfs/opt"
  chmod 1777 "$rootfs/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  cp "$root/tools/lambda-base-image/Dockerfile" "$work/context/"
  docker build --quiet --platform "$platform" --tag "$image" "$work/context" >/dev/null 2> >(grep -v -i -E 'deprecated|buildx|docs.docker.com|^ *$' >&2)
fi

# Run it once: an image of another architecture than the machine's needs the kernel's binfmt
# handler for it (qemu-user-static's), which scripts/with-docker.sh registers when it can.
if ! docker run --rm --platform "$platform" --network host --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
  echo "lambda-base-image: Docker cannot run $platform containers on this machine; for arm64 on" \
    "x86-64, register qemu-user-static's binfmt handler (root: apt-get install qemu-user-static," \
    "then scripts/with-docker.sh does the rest)" >&2
  exit 2
fi
echo "lambda-base-image: $image ($platform) is ready" >&2
