#!/usr/bin/env bash
# Makes the images deploy/compose.yaml starts from, where no image registry
# can be reached: debian:bookworm and debian:bookworm-slim from a Debian 12
# root made with debootstrap, and stand-ins for redis:7.0-bookworm,
# nginx:1.25-bookworm and postgres:15-bookworm built on them from Debian's
# packages (images/). An
# image that already exists is kept, so a second run costs nothing.
#   tests/compose/images.sh [MIRROR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mirror=${1:-http://deb.debian.org/debian}
have() { docker image inspect "$1" >/dev/null 2>&1; }
log=$(mktemp)
work=""
trap 'rm -rf "$log" $work' EXIT

if ! have debian:bookworm || ! have debian:bookworm-slim; then
  work=$(mktemp -d)
  root="$work/root"
  echo "making debian:bookworm with debootstrap"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb ${mirror} bookworm main
deb ${mirror} bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  # As the official images: no package lists or downloaded packages inside,
  # now or after a later apt-get.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT
  tar -C "$root" -c . | docker import - debian:bookworm >/dev/null
  # Slim: no documentation, manual pages or translations, now or later.
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<EXCLUDES
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EXCLUDES
  tar -C "$root" -c . | docker import - debian:bookworm-slim >/dev/null
fi
for image in redis:7.0-bookworm nginx:1.25-bookworm postgres:15-bookworm; do
  if ! have "$image"; then
    echo "making $image from Debian's packages"
    if ! docker build -t "$image" "$here/images/${image%%:*}" >"$log" 2>&1; then
      cat "$log" >&2
      exit 1
    fi
  fi
done
