# shellcheck shell=bash
# The virtualenv the demo Home Assistant of scripts/develop runs in.
# Source scripts/lib/common.sh, python.sh and venv.sh first: this file reuses
# their interpreter finders, the uv bootstrap and the input stamps.
#
# Why not the leg's test venv (.cache/venv-<leg>)? Home Assistant installs the
# frontend and its default integrations' requirements into the venv it runs
# in, at its first start. Doing that in the test venv would change what the
# tests run against behind scripts/setup's back. So the demo gets its own venv
# next to it, made from the same pins:
#   - the leg's `homeassistant==` pin (nothing of the test harness),
#   - requirements/runtime.txt and, without dependencies, requirements/nodeps.txt
#     (the same libraries the tests use; devtangle needs PyOTA before Home
#     Assistant has had a chance to install anything).
# Everything else (home-assistant-frontend, recorder's SQLAlchemy, ...) Home
# Assistant installs itself at first start, through uv and the shared uv
# cache, so a rebuilt venv is repopulated in seconds.

# Print the demo venv directory of leg $1.
develop_venv_dir() {
  local test_venv
  test_venv="$(leg_venv_dir "$1")"
  printf '%s\n' "$CACHE_DIR/develop-$(basename "$test_venv")"
}

# Print the `homeassistant==X` line of leg $1's requirement file.
develop_ha_pin() {
  local pin
  pin="$(grep -E '^homeassistant==' "$(leg_requirements "$1")" | head -n1)"
  [[ -n "$pin" ]] || die "no homeassistant== pin in $(leg_requirements "$1")"
  printf '%s\n' "$pin"
}

# Create (or reuse) the demo venv of leg $1 and print its python. Reused
# while the pins, the interpreter and uv are unchanged; what Home Assistant
# installs into it later does not invalidate it.
develop_ensure_venv() {
  local leg="$1" uv python venv pin wanted stamp_file
  uv="$(ensure_uv)"
  python="$(leg_python_interpreter "$leg")"
  venv="$(develop_venv_dir "$leg")"
  pin="$(develop_ha_pin "$leg")"
  wanted="$(inputs_hash "$pin" "$REPO_ROOT/requirements/runtime.txt" \
    "$REPO_ROOT/requirements/nodeps.txt" "$python" "$(python_version_of "$python")" \
    "$("$uv" --version)")"
  stamp_file="$venv/.iota-energy-develop-stamp"
  if [[ -x "$venv/bin/hass" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$wanted" ]]; then
    printf '%s\n' "$venv/bin/python"
    return 0
  fi
  log "Creating ${venv#"$REPO_ROOT"/} (Python $(python_version_of "$python"), $pin)"
  rm -rf "$venv"
  "$uv" venv --quiet --python "$python" "$venv" >&2
  export_python_build_env "$python"
  retry_once "$uv" pip install --quiet --python "$venv/bin/python" "$pin" \
    -r "$REPO_ROOT/requirements/runtime.txt" >&2
  retry_once "$uv" pip install --quiet --python "$venv/bin/python" --no-deps \
    -r "$REPO_ROOT/requirements/nodeps.txt" >&2
  printf '%s\n' "$wanted" >"$stamp_file"
  printf '%s\n' "$venv/bin/python"
}
