# shellcheck shell=bash
# The checks scripts/test and scripts/lint run, given a leg's python.
# Source scripts/lib/common.sh first; run from $REPO_ROOT.

# Paths mypy checks. The core and devtangle are strict (pyproject.toml).
typecheck_paths() {
  local path
  for path in custom_components/iota_energy devtangle; do
    [[ -e "$REPO_ROOT/$path" ]] && printf '%s\n' "$path"
  done
}

run_lint() {
  local python="$1"
  log "ruff check"
  "$python" -m ruff check .
  log "ruff format --check"
  "$python" -m ruff format --check .
}

run_typecheck() {
  local python="$1" paths
  mapfile -t paths < <(typecheck_paths)
  log "mypy ${paths[*]}"
  "$python" -m mypy --cache-dir "$CACHE_DIR/mypy-$(basename "$(dirname "$(dirname "$python")")")" "${paths[@]}"
}

# pytest with coverage; "no tests collected" (exit 5) is a failure.
run_pytest() {
  local python="$1" leg="$2"
  shift 2
  local coverage_dir="$CACHE_DIR/coverage/$leg"
  mkdir -p "$coverage_dir"
  log "pytest (leg $leg) with coverage"
  local status=0
  COVERAGE_FILE="$coverage_dir/.coverage" "$python" -m pytest \
    --cov --cov-report=term-missing:skip-covered \
    --cov-report="xml:$coverage_dir/coverage.xml" \
    "$@" || status=$?
  if ((status == 5)); then
    error "pytest collected no tests (leg $leg)"
  fi
  return "$status"
}
