#!/usr/bin/env bash
# The variables part of each role README is generated: roles/<role>/README.md holds, in its
# "## Variables" section between <!-- BEGIN_ANSIBLE_DOCS --> and <!-- END_ANSIBLE_DOCS -->, what
# aar-doc (pinned in requirements-dev.txt) renders from roles/<role>/meta/argument_specs.yml with
# the template scripts/role-docs.md.j2: per entry point, a table variable | type | default |
# description. Everything outside the markers is left as it is. Offline; needs `make setup`.
#
#   scripts/role-docs.sh           # regenerate every role README in place (`make docs`)
#   scripts/role-docs.sh --check   # regenerate into a temp copy; exit 1 with a unified diff when
#                                  # a README differs (the `docs` layer of scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH

check=false
case "${1-}" in
  "") ;;
  --check) check=true ;;
  *)
    echo "usage: scripts/role-docs.sh [--check]" >&2
    exit 2
    ;;
esac
if ! command -v aar-doc >/dev/null 2>&1; then
  echo "role-docs: aar-doc is missing from .venv; run make setup" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 stale=()
for dir in roles/*/; do
  role=$(basename "$dir")
  readme=roles/$role/README.md
  out=$tmp/$role.md
  if [ ! -f "$readme" ]; then
    echo "role-docs: $readme is missing" >&2
    failed=1
    continue
  fi
  cp "$readme" "$out"
  # --config-file names a file that does not exist: no stray .aar_doc.yml changes the output.
  if ! aar-doc --config-file "$tmp/no-config.yml" --output-file "$out" \
    --output-template "$root/scripts/role-docs.md.j2" --output-mode inject \
    "$root/roles/$role" markdown >"$tmp/$role.log" 2>&1 || [ -s "$tmp/$role.log" ]; then
    # aar-doc says nothing when all is well; it exits 0 after "Not a valid YAML file: ...".
    echo "role-docs: aar-doc failed on roles/$role:" >&2
    cat "$tmp/$role.log" >&2
    failed=1
    continue
  fi
  if cmp -s "$readme" "$out"; then
    continue
  fi
  if $check; then
    diff -u --label "a/$readme" --label "b/$readme" "$readme" "$out" || true
    stale+=("$readme")
  else
    cat "$out" >"$readme" # in place: keeps the file's mode
    echo "role-docs: updated $readme"
  fi
done

if [ ${#stale[@]} -gt 0 ]; then
  echo >&2
  echo "role-docs: stale, not what meta/argument_specs.yml gives: ${stale[*]}" >&2
  echo "role-docs: fix with: make docs   (or: scripts/role-docs.sh)" >&2
  exit 1
fi
[ "$failed" -eq 0 ] || exit 1
$check && echo "role-docs: every role README is up to date with its meta/argument_specs.yml"
exit 0
