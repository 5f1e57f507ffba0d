#!/usr/bin/env bash
# What Galaxy users get, checked offline (the `galaxy` layer of scripts/test.sh):
#   1. `ansible-galaxy collection build` into a temp dir; the tarball's file list must hold no
#      development, cache, test-output or example-app run-time files, and every file of the
#      shipped directories (roles, plugins, playbooks, examples/blog, ...).
#   2. Galaxy's importer (galaxy-importer, pinned in requirements-dev.txt) on the tarball, with
#      ansible-doc and ansible-lint but without ansible-test's container: no WARNING or ERROR line.
#   3. The tarball installed into a temp collections path: `ansible-doc` renders every module
#      and every role found in the tree, with nothing on stderr.
#   4. antsibull-changelog: the fragments and changelogs/changelog.yaml lint clean; once a
#      CHANGELOG.md exists it must be what `antsibull-changelog generate` makes of
#      changelogs/changelog.yaml, and before the first release a trial release in a temp copy must
#      produce a CHANGELOG.md and a changelog.yaml that yamllint accepts.
# Every temp dir is removed on exit. Needs the tool venv (`make setup`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH
start=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flask_blog-galaxy.XXXXXX")
importer_pid=
cleanup() {
  # The importer runs in its own process group (setsid): stop it and its ansible-lint.
  if [ -n "$importer_pid" ]; then kill -- "-$importer_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# No ansible.cfg of the checkout (its collections_path finds the checkout itself): only what the
# tarball installs may answer. Tools that write temp files write them under $tmp.
: >"$tmp/ansible.cfg"
export ANSIBLE_CONFIG=$tmp/ansible.cfg ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCAL_TEMP=$tmp/ansible-tmp ANSIBLE_NOCOLOR=1 NO_COLOR=1
mkdir -p "$tmp/tmp"

fail() {
  echo "galaxy-check: FAILED: $*" >&2
  exit 1
}

# --- 1. build and the tarball's file list -------------------------------------------------------
namespace=$(sed -n 's/^namespace: *//p' galaxy.yml)
name=$(sed -n 's/^name: *//p' galaxy.yml)
version=$(sed -n 's/^version: *//p' galaxy.yml)
fqcn=$namespace.$name
ansible-galaxy collection build --output-path "$tmp/build" . >/dev/null
tarball=$tmp/build/$namespace-$name-$version.tar.gz
[ -f "$tarball" ] || fail "ansible-galaxy collection build made no $tarball"
tar -tzf "$tarball" | sed 's|/$||' | sort -u >"$tmp/tarball.list"

# Paths that must never ship (extended regular expressions on paths relative to the root).
forbidden='(^|/)(\.venv|venv|__pycache__|\.pytest_cache|\.ruff_cache|\.mypy_cache|\.tox|\.cache)(/|$)'
forbidden+='|\.py[co]$|\.egg-info(/|$)|\.tar\.gz$|\.(db|sqlite|sqlite3)$|\.db-(wal|shm|journal)$|\.swp$|~$'
forbidden+='|(^|/)molecule(/|$)|^(tests/output|benchmarks|scripts|\.demo|\.git|\.ci|\.collections|\.config)(/|$)'
forbidden+='|^(\.gitignore|\.ansible-lint|\.yamllint|ansible\.cfg|ruff\.toml|Makefile|requirements-dev\.txt)$'
forbidden+='|^inventories/demo(/|$)|^changelogs/\.plugin-cache\.yaml$|^tests/sanity/ignore-.*\.txt$'
forbidden+='|^examples/[^/]+/(instance|static/uploads|build|dist)(/|$)'
if grep -E "$forbidden" "$tmp/tarball.list" >"$tmp/forbidden.list"; then
  echo "galaxy-check: the tarball holds files that must not ship (add them to build_ignore in galaxy.yml):" >&2
  sed 's/^/  /' "$tmp/forbidden.list" >&2
  exit 1
fi

# Every file of the checkout (tracked or new, not git-ignored) under the shipped paths must be in
# it: build_ignore must not drop content (examples/blog is deployable from the install).
shipped=(README.md LICENSE meta plugins roles playbooks examples changelogs inventories/example)
[ ! -e CHANGELOG.md ] || shipped+=(CHANGELOG.md)
git ls-files -co --exclude-standard -- "${shipped[@]}" | grep -vE "$forbidden" | sort -u >"$tmp/expected.list"
if comm -23 "$tmp/expected.list" "$tmp/tarball.list" | grep . >"$tmp/missing.list"; then
  echo "galaxy-check: the tarball lacks files of the collection (build_ignore too wide?):" >&2
  sed 's/^/  /' "$tmp/missing.list" >&2
  exit 1
fi
# build_ignore leaves out tests/sanity/ignore-*.txt because they are empty (Galaxy's importer
# warns about any ignore file); one that skips a test must not be hidden that way.
for f in tests/sanity/ignore-*.txt; do
  [ ! -s "$f" ] || fail "$f is not empty: sanity tests must pass without ignores"
done
files=$(tar -tvzf "$tarball" | grep -c '^-')
size=$(stat -c %s "$tarball")
echo "galaxy-check: built $(basename "$tarball"): $files files, $((size / 1024)) KiB"

# --- 2. Galaxy's importer, in the background (ansible-lint inside it takes most of the time) ---
cat >"$tmp/galaxy-importer.cfg" <<EOF
[galaxy-importer]
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
run_flake8 = False
check_changelog = True
ansible_local_tmp = $tmp/importer-ansible-tmp
EOF
mkdir -p "$tmp/importer"
# It writes importer_result.json into its working directory.
(cd "$tmp/importer" &&
  GALAXY_IMPORTER_CONFIG=$tmp/galaxy-importer.cfg TMPDIR=$tmp/tmp \
    exec setsid python -m galaxy_importer.main "$tarball" >"$tmp/importer.log" 2>&1) &
importer_pid=$!

# --- 3. install the tarball, then ansible-doc every module and role ----------------------------
export ANSIBLE_COLLECTIONS_PATH=$tmp/collections
ansible-galaxy collection install --force "$tarball" -p "$tmp/collections" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "ansible-galaxy collection install"; }
installed=$tmp/collections/ansible_collections/$namespace/$name
[ -d "$installed" ] || fail "the tarball did not install to $installed"
# The example blog, which a user can deploy from the install (molecule/galaxy does), is in it.
[ -f "$installed/examples/blog/wsgi.py" ] || fail "the installed collection lacks examples/blog/"

mapfile -t modules < <(find plugins/modules -maxdepth 1 -name '*.py' ! -name '__init__.py' -printf '%f\n' |
  sed 's/\.py$//' | sort)
mapfile -t roles < <(find roles -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
if [ ${#modules[@]} -eq 0 ] || [ ${#roles[@]} -eq 0 ]; then fail "no modules or no roles found in the tree"; fi

# One ansible-doc run per plugin type (a run per plugin costs a second each). A name it cannot
# find gives a warning (modules) or nothing at all (roles), so each one's header must be in the
# output, naming the installed copy as its source.
doc() { # doc TYPE HEADER NAME...: ansible-doc renders them all, exit 0, nothing on stderr
  local type=$1 header=$2 n rc=0
  shift 2
  (cd "$tmp" && ansible-doc -t "$type" "${@/#/$fqcn.}") >"$tmp/doc.out" 2>"$tmp/doc.err" || rc=$?
  # Headers, without the emphasis ansible-doc puts around the name (colour codes or *...*).
  grep '^> ' "$tmp/doc.out" | sed 's/\x1b\[[0-9;]*m//g; s/\*//g' >"$tmp/doc.headers" || true
  if [ "$rc" -ne 0 ] || [ -s "$tmp/doc.err" ]; then
    echo "galaxy-check: ansible-doc -t $type failed (exit $rc) or warned:" >&2
    sed 's/^/  /' "$tmp/doc.err" >&2
    return 1
  fi
  for n in "$@"; do
    grep -qF "> $header $fqcn.$n ($installed" "$tmp/doc.headers" ||
      { echo "galaxy-check: ansible-doc -t $type did not render $fqcn.$n from $installed" >&2; return 1; }
  done
}
doc module MODULE "${modules[@]}" || fail "ansible-doc of the modules"
doc role ROLE: "${roles[@]}" || fail "ansible-doc of the roles"
echo "galaxy-check: ansible-doc rendered ${#modules[@]} modules (${modules[*]}) and ${#roles[@]} roles (${roles[*]}) from the installed tarball"

# --- 4. changelog ----------------------------------------------------------------------------------
antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
copy=$tmp/changelog-copy/ansible_collections/$namespace/$name
mkdir -p "$copy"
git ls-files -co --exclude-standard -z | tar --null -T - -c | tar -x -C "$copy"
if [ -e CHANGELOG.md ]; then
  rm -f "$copy/CHANGELOG.md"
  (cd "$copy" && antsibull-changelog generate)
  diff -u CHANGELOG.md "$copy/CHANGELOG.md" >"$tmp/changelog.diff" ||
    { cat "$tmp/changelog.diff" >&2; fail "CHANGELOG.md is not what 'antsibull-changelog generate' makes of changelogs/changelog.yaml"; }
  changelog="CHANGELOG.md up to date"
else
  # No release yet: the release the maintainers will run must work and keep yamllint clean.
  (cd "$copy" && antsibull-changelog release --version "$version" --date "$(date -u +%F)" &&
    [ -s CHANGELOG.md ] && yamllint --strict changelogs/) >"$tmp/release.log" 2>&1 ||
    { cat "$tmp/release.log" >&2; fail "a trial 'antsibull-changelog release --version $version' in a temp copy"; }
  changelog="no release yet; a trial release of $version makes CHANGELOG.md"
fi
echo "galaxy-check: changelog: fragments lint clean, $changelog"

# --- 2, continued: the importer's verdict ------------------------------------------------------------
importer_rc=0
wait "$importer_pid" || importer_rc=$?
importer_pid=
sed 's/^/  importer: /' "$tmp/importer.log"
if [ "$importer_rc" -ne 0 ] || grep -qE '^(WARNING|ERROR|CRITICAL)' "$tmp/importer.log" ||
  ! grep -q '^Importer processing completed successfully' "$tmp/importer.log"; then
  fail "galaxy-importer reported warnings or errors (above)"
fi
importer_version=$(python -c 'from importlib.metadata import version; print(version("galaxy-importer"))')

echo "galaxy-check: passed in $((SECONDS - start)) s: $files files ($((size / 1024)) KiB)," \
  "galaxy-importer $importer_version without warnings, ansible-doc clean, changelog clean"
