# shellcheck shell=bash
# The checks scripts/test and scripts/lint run, given a leg's python.
# Source scripts/lib/common.sh first; run from $REPO_ROOT.

# Paths mypy checks. The core and devtangle are strict (pyproject.toml).
typecheck_paths() {
  local path
  for path in custom_components/iota_energy devtangle devrebased; do
    [[ -e "$REPO_ROOT/$path" ]] && printf '%s\n' "$path"
  done
}

# These run as `step ... || status=$?`, where bash ignores `set -e`: every
# command's status is checked explicitly.
run_lint() {
  local python="$1" status=0
  log "ruff check"
  "$python" -m ruff check . || status=1
  log "ruff format --check"
  "$python" -m ruff format --check . || status=1
  return "$status"
}

run_typecheck() {
  local python="$1" paths venv_name
  mapfile -t paths < <(typecheck_paths)
  venv_name="$(basename "$(dirname "$(dirname "$python")")")"
  log "mypy ${paths[*]}"
  "$python" -m mypy --cache-dir "$CACHE_DIR/mypy-$venv_name" "${paths[@]}" || return 1
}

# pytest with coverage; "no tests collected" (exit 5) is a failure.
run_pytest() {
  local python="$1" leg="$2"
  shift 2
  local coverage_dir="$CACHE_DIR/coverage/$leg"
  mkdir -p "$coverage_dir"
  log "pytest (leg $leg) with coverage"
  local status=0
  # An absolute --cov-config: subprocesses the tests start elsewhere (devtangle
  # in a temporary folder, say) measure with the same settings (branch
  # coverage), or the final combine refuses to mix their data.
  COVERAGE_FILE="$coverage_dir/.coverage" "$python" -m pytest \
    --cov --cov-config="$REPO_ROOT/pyproject.toml" \
    --cov-report=term-missing:skip-covered \
    --cov-report="xml:$coverage_dir/coverage.xml" \
    "$@" || status=$?
  if ((status == 5)); then
    error "pytest collected no tests (leg $leg)"
  fi
  return "$status"
}

# The coverage the README promises, from leg $2's pytest run: config_flow.py
# complete (lines and branches), the shell (all but core/) at 98 % or more.
# Only after a run of the whole suite (a selection covers less).
COVERAGE_FLOORS=(
  "custom_components/iota_energy/config_flow.py|100"
  "custom_components/iota_energy/*|98|custom_components/iota_energy/core/*"
)
run_coverage_floors() {
  local python="$1" leg="$2" floor include under omit report status=0
  local data="$CACHE_DIR/coverage/$leg/.coverage"
  for floor in "${COVERAGE_FLOORS[@]}"; do
    IFS='|' read -r include under omit <<<"$floor"
    log "coverage of $include${omit:+ but $omit}: at least $under %"
    if report="$(COVERAGE_FILE="$data" "$python" -m coverage report \
      --rcfile="$REPO_ROOT/pyproject.toml" --precision=2 \
      --include="$include" ${omit:+--omit="$omit"} --fail-under="$under" 2>&1)"; then
      printf '%s\n' "$report" | tail -n 3 >&2
    else
      printf '%s\n' "$report" >&2
      error "coverage of $include${omit:+ but $omit} is below $under % (leg $leg)"
      status=1
    fi
  done
  return "$status"
}
