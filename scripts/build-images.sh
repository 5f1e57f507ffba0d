#!/usr/bin/env bash
# Build the systemd test images from debootstrap when they are missing or were built by an
# older version of this recipe; reuse them otherwise. No container registry is needed.
#
#   scripts/build-images.sh              # every suite below
#   scripts/build-images.sh bookworm     # one suite
#
# Image names come from FLASK_BLOG_IMAGE_<SUITE> (e.g. FLASK_BLOG_IMAGE_BOOKWORM); the molecule
# scenarios (.config/molecule/config.yml) read the same variables with the same defaults, so
# pointing them at another systemd-ready image (Ubuntu 24.04 from your registry, say) needs no
# file edited, and this script then skips that suite.
set -euo pipefail

packages=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl
# Bump when the image content changes in a way that the package list does not show.
recipe_version=1
recipe=$(echo "$recipe_version $packages" | sha256sum | cut -c1-12)
ca_bundle=${FLASK_BLOG_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
suites_known=(bookworm trixie)
default_image() { echo "flask-blog-systemd:$1"; }
: "${FLASK_BLOG_IMAGE_BOOKWORM:=$(default_image bookworm)}"
: "${FLASK_BLOG_IMAGE_TRIXIE:=$(default_image trixie)}"
rootfs=""
trap '[ -z "$rootfs" ] || rm -rf "$rootfs" "$rootfs.log"' EXIT

build() {
  local suite=$1 image=$2
  if [ "$(docker image inspect -f '{{index .Config.Labels "flask-blog.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
    echo "images: $image is up to date"
    return
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null 2>&1; then
    echo "images: $image is missing; building it needs root and debootstrap ('make setup')" >&2
    return 1
  fi
  rootfs=$(mktemp -d /var/tmp/flask-blog-rootfs.XXXXXX)
  echo "images: bootstrapping $suite into $rootfs"
  local start=$SECONDS
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" >"$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2
    return 1
  }
  # Trust what the host trusts (an intercepting proxy's CA, for pip inside the containers).
  if [ -r "$ca_bundle" ]; then
    install -D -m 0644 "$ca_bundle" "$rootfs/usr/local/share/ca-certificates/host-bundle.crt"
    install -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  fi
  : >"$rootfs/etc/machine-id"
  chroot "$rootfs" apt-get clean
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    --change "LABEL flask-blog.recipe=$recipe flask-blog.suite=$suite" \
    - "$image" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  rootfs=""
  echo "images: built $image in $((SECONDS - start)) s"
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${suites_known[@]}")
for suite in "${suites[@]}"; do
  var="FLASK_BLOG_IMAGE_${suite^^}"
  image=${!var:-}
  [ -n "$image" ] || { echo "images: unknown suite '$suite' (known: ${suites_known[*]})" >&2; exit 2; }
  if [ "$image" != "$(default_image "$suite")" ]; then
    echo "images: $var=$image is set; using it as is"
    continue
  fi
  build "$suite" "$image"
done
