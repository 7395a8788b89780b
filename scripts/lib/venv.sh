# shellcheck shell=bash
# The uv tool and one virtualenv per Home Assistant leg.
# Source scripts/lib/common.sh and scripts/lib/python.sh first.

# Legs: name -> requirement file and interpreter finder.
#   min   the oldest supported Home Assistant (hacs.json's minimum)
#   mid   the newest Home Assistant on Python 3.13
#   cur   the newest Home Assistant with a matching release of the test
#         harness (pytest-homeassistant-custom-component), on Python 3.14
#   next  forward check: the newest Home Assistant release, run with the
#         harness of cur until a matching harness release exists
LEGS_ALL="min mid cur next"

leg_requirements() {
  case "$1" in
    min) printf '%s\n' "$REPO_ROOT/requirements/ha-2025.4.txt" ;;
    mid) printf '%s\n' "$REPO_ROOT/requirements/ha-2026.2.txt" ;;
    cur) printf '%s\n' "$REPO_ROOT/requirements/ha-2026.10.txt" ;;
    next) printf '%s\n' "$REPO_ROOT/requirements/ha-2026.11.txt" ;;
    *) die "unknown leg '$1' (known: $LEGS_ALL)" ;;
  esac
}

# uv overrides of leg $1 (a file next to its requirements, or nothing): the
# forward check overrides the harness's exact homeassistant pin.
leg_overrides() {
  local overrides
  overrides="$(leg_requirements "$1")"
  overrides="${overrides%.txt}-overrides.txt"
  [[ -f "$overrides" ]] && printf '%s\n' "$overrides"
  return 0
}

# Extra pytest arguments of leg $1, one per line.
leg_pytest_args() {
  case "$1" in
    # The harness was made for an older Home Assistant: tests/forward_harness.py
    # bridges what changed, loaded before the harness itself.
    next) printf '%s\n' -p tests.forward_harness ;;
    *) ;;
  esac
  # Payments and devtangle do not touch Home Assistant: their (slow) suites
  # run once per Python (min: 3.13, cur: 3.14), not on every release of it.
  case "$1" in
    mid | next) printf '%s\n' --ignore=tests/payments --ignore=tests/devtangle ;;
    *) ;;
  esac
  # The short fault injection suite (benchmarks/faults, a few minutes) and
  # the short crash suite (benchmarks/crash, about 2 minutes) drive the core
  # or a real `hass` from scripts/develop's venv (leg min), whatever the leg:
  # they run on the oldest leg only.
  case "$1" in
    min) ;;
    *)
      printf '%s\n' --ignore=tests/stress/test_fault_suite.py
      printf '%s\n' --ignore=tests/stress/test_crash_suite.py
      ;;
  esac
}

# True when mypy checks the integration on leg $1. Home Assistant 2026.10
# (unlike 2026.2) types its schemas with probatio and aliases `voluptuous` to it at
# run time; mypy cannot see that alias, so the integration's voluptuous
# schemas (right at run time, which the tests of those legs show) fail its
# checks there. mypy --strict runs on the legs whose schema library it sees.
leg_typechecks() {
  case "$1" in
    min | mid) return 0 ;;
    *) return 1 ;;
  esac
}

leg_venv_dir() {
  local requirements
  requirements="$(leg_requirements "$1")"
  local name
  name="$(basename "$requirements" .txt)"
  printf '%s\n' "$CACHE_DIR/venv-${name//-/}"
}

leg_python_interpreter() {
  case "$1" in
    min) ensure_python_min_leg ;;
    mid) ensure_python_313 ;;
    cur | next) ensure_python_314 ;;
    *) die "unknown leg '$1' (known: $LEGS_ALL)" ;;
  esac
}

# Print the path of a uv executable, bootstrapping it once with pip into
# $CACHE_DIR/uvtool (pip from any Python 3 that has venv; pyenv's 3.13.0
# is there on every machine of this kind).
ensure_uv() {
  local tool="$CACHE_DIR/uvtool" want
  want="$(sed -n 's/^uv==//p' "$REPO_ROOT/requirements/uv.txt")"
  if [[ -x "$tool/bin/uv" && "$("$tool/bin/uv" --version 2>/dev/null)" == "uv $want"* ]]; then
    printf '%s\n' "$tool/bin/uv"
    return 0
  fi
  local python
  python="$(ensure_python_min_leg)"
  log "Bootstrapping uv $want into ${tool#"$REPO_ROOT"/}"
  rm -rf "$tool"
  "$python" -m venv "$tool" >&2
  retry_once "$tool/bin/python" -m pip install --quiet -r "$REPO_ROOT/requirements/uv.txt" >&2
  printf '%s\n' "$tool/bin/uv"
}

# Create (or reuse) the virtualenv of leg $1 and print its python. Reused
# when the requirement files, the interpreter and uv are unchanged.
ensure_leg_venv() {
  local leg="$1" uv python venv requirements stamp_file wanted
  local -a overrides
  uv="$(ensure_uv)"
  python="$(leg_python_interpreter "$leg")"
  venv="$(leg_venv_dir "$leg")"
  requirements="$(leg_requirements "$leg")"
  overrides=()
  [[ -n "$(leg_overrides "$leg")" ]] && overrides=(--overrides "$(leg_overrides "$leg")")
  wanted="$(inputs_hash "$requirements" "$REPO_ROOT"/requirements/*.txt \
    "$python" "$(python_version_of "$python")" "$("$uv" --version)")"
  stamp_file="$venv/.iota-energy-stamp"
  if [[ -x "$venv/bin/python" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$wanted" ]]; then
    printf '%s\n' "$venv/bin/python"
    return 0
  fi
  log "Creating ${venv#"$REPO_ROOT"/} (Python $(python_version_of "$python"), $(basename "$requirements"))"
  rm -rf "$venv"
  "$uv" venv --quiet --python "$python" "$venv" >&2
  export_python_build_env "$python"
  # One resolution for Home Assistant, the test harness, the tools and the
  # integration's manifest requirements, then the three libraries whose
  # declared dependencies do not build, without those dependencies.
  retry_once "$uv" pip install --quiet --python "$venv/bin/python" -r "$requirements" \
    "${overrides[@]}" >&2
  retry_once "$uv" pip install --quiet --python "$venv/bin/python" --no-deps \
    -r "$REPO_ROOT/requirements/nodeps.txt" >&2
  printf '%s\n' "$wanted" >"$stamp_file"
  printf '%s\n' "$venv/bin/python"
}

# Die unless $1 names one leg.
check_leg() {
  case "$1" in
    min | mid | cur | next) ;;
    new) die "leg 'new' is now called 'mid' (Home Assistant 2026.2); the newest is 'cur'" ;;
    *) die "unknown leg '$1' (use one of: $LEGS_ALL)" ;;
  esac
}

# Turn "--leg min|mid|cur|next|all" values (several with commas) into a list
# of legs.
expand_legs() {
  local one
  [[ "$1" == all ]] && {
    # shellcheck disable=SC2086 # a list of names
    printf '%s\n' $LEGS_ALL
    return 0
  }
  for one in ${1//,/ }; do
    check_leg "$one"
    printf '%s\n' "$one"
  done
}
