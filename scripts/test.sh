#!/usr/bin/env bash
# Every test layer, in order; each runs even when an earlier one failed, and a summary with the
# result and time of each closes the run. Exit status: 0 only when every layer passed.
#
#   scripts/test.sh                 # all layers (what `make test` runs, after `make setup`)
#   scripts/test.sh unit molecule   # some layers
#   SCENARIOS="python_venv" scripts/test.sh molecule
#   MOLECULE_LANES=1 scripts/test.sh molecule   # one scenario at a time
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg
export PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1

# The whole-stack scenarios take longest: they start first.
all_scenarios=$(for f in molecule/*/molecule.yml; do basename "$(dirname "$f")"; done)
scenarios=${SCENARIOS:-$(grep '^stack' <<<"$all_scenarios"; grep -v '^stack' <<<"$all_scenarios")}

layer_yamllint() { yamllint --strict .; }
layer_ansible_lint() { ansible-lint --offline --profile production; }
layer_ruff() { ruff check . && ruff format --check .; }
# The variables tables of the role READMEs are what aar-doc makes of meta/argument_specs.yml
# (scripts/role-docs.sh; `make docs` regenerates them).
layer_docs() { scripts/role-docs.sh --check; }
layer_sanity() { scripts/sanity.sh; }
# The collection as Galaxy users get it: build, file list, galaxy-importer, ansible-doc on the
# installed tarball, changelog (scripts/galaxy-check.sh).
layer_galaxy() { scripts/galaxy-check.sh; }
layer_unit() {
  (cd examples/blog && pytest -p no:cacheprovider) || return 1
  (cd molecule/resources/apps/notes && pytest -p no:cacheprovider) || return 1
  [ ! -d tests/unit ] || pytest -p no:cacheprovider tests/unit
}
# Scenarios run in MOLECULE_LANES lanes at once (default 2: most of a scenario's time is spent
# waiting on containers, systemd and sleeps); a lane takes the next scenario when its own ends.
# Each scenario's output is printed whole, with its result and time, when it ends.
layer_molecule() {
  local rc=0 s logs
  logs=$(mktemp -d)
  # shellcheck disable=SC2016  # expanded by the inner bash
  tr -s ' \n' '\n' <<<"$scenarios" | xargs -P "${MOLECULE_LANES:-2}" -I{} bash -c '
    start=$SECONDS result=passed
    molecule test -s "$1" >"$2/$1.log" 2>&1 || { result=FAILED; touch "$2/$1.failed"; }
    { echo "=== molecule test -s $1: $result in $((SECONDS - start)) s"; cat "$2/$1.log"; } |
      flock "$2/.lock" cat' _ {} "$logs"
  for s in $scenarios; do
    echo "=== molecule scenario $s: $([ -e "$logs/$s.failed" ] && echo FAILED || echo passed)"
    [ ! -e "$logs/$s.failed" ] || rc=1
  done
  rm -rf "$logs"
  return $rc
}

layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=(yamllint ansible_lint ruff docs sanity galaxy unit molecule)
summary=() passed=0 failed=0
for layer in "${layers[@]}"; do
  layer=${layer//-/_}
  if ! declare -F "layer_$layer" >/dev/null; then
    echo "test: unknown layer '$layer'" >&2
    exit 2
  fi
  echo
  echo "##### $layer"
  start=$SECONDS
  if "layer_$layer"; then
    result=passed; passed=$((passed + 1))
  else
    result=FAILED; failed=$((failed + 1))
  fi
  summary+=("$(printf '  %-14s %-7s %5d s' "$layer" "$result" $((SECONDS - start)))")
done

echo
echo "##### summary"
printf '%s\n' "${summary[@]}"
echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
