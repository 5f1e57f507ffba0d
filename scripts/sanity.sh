#!/usr/bin/env bash
# ansible-test sanity, offline: the checkout's files are copied to
# <tmp>/ansible_collections/selfhosted/flask_blog (ansible-test needs a collection there, and
# outside this git work tree so that it reads the copy and not the checkout's git index),
# and ansible-test's pip bootstrap, which would download get-pip.py, is given a stand-in that
# bootstraps pip from the interpreter's own ensurepip.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/.venv

ansible_test=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$ansible_test/_internal/python_requirements.py" | head -n1)
standin=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$standin")"
cat >"$standin" <<'PY'
# Offline stand-in for get-pip.py, written by selfhosted.flask_blog's scripts/sanity.sh.
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip points it at /dev/null; keep the host's
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
PY

dest=${TMPDIR:-/tmp}/flask_blog-sanity-$(id -u)/ansible_collections/selfhosted/flask_blog
rm -rf "$dest"
mkdir -p "$dest"
git ls-files -co --exclude-standard -z | tar --null -T - -c | tar -x -C "$dest"
cd "$dest"
PATH=$venv/bin:$PATH ansible-test sanity --local --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
