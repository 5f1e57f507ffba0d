#!/usr/bin/env bash
# Every test layer, in order; each runs even when an earlier one failed, and a summary with the
# result and time of each closes the run. Exit status: 0 only when every layer passed.
#
#   scripts/test.sh                 # all layers (what `make test` runs, after `make setup`)
#   scripts/test.sh unit molecule   # some layers
#   SCENARIOS="python_venv" scripts/test.sh molecule
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH=$PWD/.venv/bin:$PATH
export ANSIBLE_CONFIG=$PWD/ansible.cfg
export PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1

scenarios=${SCENARIOS:-$(for f in molecule/*/molecule.yml; do basename "$(dirname "$f")"; done)}

layer_yamllint() { yamllint --strict .; }
layer_ansible_lint() { ansible-lint --offline --profile production; }
layer_ruff() { ruff check . && ruff format --check .; }
layer_sanity() { scripts/sanity.sh; }
layer_unit() {
  (cd examples/blog && pytest -p no:cacheprovider) || return 1
  [ ! -d tests/unit ] || pytest -p no:cacheprovider tests/unit
}
layer_molecule() {
  local rc=0 s
  for s in $scenarios; do
    echo "=== molecule test -s $s"
    molecule test -s "$s" || { rc=1; echo "=== molecule scenario $s FAILED"; }
  done
  return $rc
}

layers=("$@")
[ ${#layers[@]} -gt 0 ] || layers=(yamllint ansible_lint ruff sanity unit molecule)
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
