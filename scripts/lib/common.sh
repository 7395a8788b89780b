# shellcheck shell=bash
# Shared helpers for the scripts in scripts/. Source this file; do not run it.
#
# Everything the scripts make (virtualenvs, the uv tool, a locally built
# CPython, caches) lives under "$CACHE_DIR", which git ignores, so a fresh
# clone starts from nothing and a second run reuses what the first one made.

# Command substitutions ($(...)) keep `set -e`: a failing step inside
# `python="$(ensure_leg_venv min)"` must stop the script, not go on.
shopt -s inherit_errexit

REPO_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${IOTA_ENERGY_CACHE:-$REPO_ROOT/.cache}"
export REPO_ROOT CACHE_DIR

# uv keeps downloaded wheels here; shared by every venv the scripts create.
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_DIR/uv-cache}"

# Colours only on a terminal, and never with NO_COLOR set.
if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
  _c_blue=$'\033[1;34m' _c_yellow=$'\033[1;33m' _c_red=$'\033[1;31m'
  _c_green=$'\033[1;32m' _c_magenta=$'\033[1;35m' _c_off=$'\033[0m'
else
  _c_blue='' _c_yellow='' _c_red='' _c_green='' _c_magenta='' _c_off=''
fi

log() {
  printf '%s==>%s %s\n' "$_c_blue" "$_c_off" "$*" >&2
}

warn() {
  printf '%swarning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2
}

error() {
  printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2
}

die() {
  error "$@"
  exit 1
}

# A banner line, e.g. for each leg.
banner() {
  printf '\n%s######## %s ########%s\n' "$_c_magenta" "$*" "$_c_off" >&2
}

# Print the sha256 of the given files' contents plus any extra words, so a
# stamp changes when any input changes.
inputs_hash() {
  local words=("$@")
  {
    local item
    for item in "${words[@]}"; do
      if [[ -f "$item" ]]; then
        # Relative to the checkout: worktrees sharing one .cache agree.
        printf 'file %s\n' "${item#"$REPO_ROOT"/}"
        cat -- "$item"
      else
        printf 'word %s\n' "$item"
      fi
    done
  } | sha256sum | cut -d' ' -f1
}

# Print "major.minor.micro" of a Python interpreter, or nothing if it does
# not run.
python_version_of() {
  "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}

# True when version $1 >= version $2 (dotted numbers).
version_ge() {
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$2" ]]
}

# Run a command; if it fails, wait a moment and run it once more. For
# downloads on a first run, where a passing network hiccup should not fail
# the whole set-up.
retry_once() {
  "$@" && return 0
  warn "failed: $* (trying once more in ${RETRY_PAUSE_S:-5} s)"
  sleep "${RETRY_PAUSE_S:-5}"
  "$@"
}
