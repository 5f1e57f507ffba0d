#!/usr/bin/env bash
# Set up this checkout for development and tests on Debian: the host packages (as root, only
# what is missing), the pinned tool venv in .venv/ (rebuilt when requirements-dev.txt changes),
# the Docker engine, the systemd test images, and the link that lets Ansible find the collection
# under its selfhosted.flask_blog name. Safe to run again: it skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. Host packages: Docker's engine, debootstrap (for the images) and shellcheck (for
#    ansible-test sanity); only as root on Debian.
missing=()
command -v dockerd >/dev/null 2>&1 || docker info >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: ${missing[*]} missing; install them (root on Debian: make setup) or provide Docker" >&2
  fi
fi

# 2. The tool venv.
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $python is $("$python" -V 2>&1); ansible-core 2.19 needs Python 3.11 or newer" >&2
  exit 1
fi
stamp=.venv/.requirements-dev.sha256
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv from requirements-dev.txt"
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" >"$stamp"
else
  echo "setup: .venv is up to date"
fi

# 3. Ansible finds this checkout as selfhosted.flask_blog (ansible.cfg and molecule point here).
mkdir -p .collections/ansible_collections/selfhosted
ln -sfn ../../.. .collections/ansible_collections/selfhosted/flask_blog

# 4. Docker engine and the test images.
scripts/docker-engine.sh
scripts/build-images.sh
