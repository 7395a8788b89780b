# shellcheck shell=bash
# The uv tool and one virtualenv per Home Assistant leg.
# Source scripts/lib/common.sh and scripts/lib/python.sh first.

# Legs: name -> requirement file and interpreter finder.
LEGS_ALL="min new"

leg_requirements() {
  case "$1" in
    min) printf '%s\n' "$REPO_ROOT/requirements/ha-2025.4.txt" ;;
    new) printf '%s\n' "$REPO_ROOT/requirements/ha-2026.2.txt" ;;
    *) die "unknown leg '$1' (known: $LEGS_ALL)" ;;
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
    new) ensure_python_new_leg ;;
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
  "$tool/bin/python" -m pip install --quiet -r "$REPO_ROOT/requirements/uv.txt" >&2
  printf '%s\n' "$tool/bin/uv"
}

# Create (or reuse) the virtualenv of leg $1 and print its python. Reused
# when the requirement files, the interpreter and uv are unchanged.
ensure_leg_venv() {
  local leg="$1" uv python venv requirements stamp_file wanted
  uv="$(ensure_uv)"
  python="$(leg_python_interpreter "$leg")"
  venv="$(leg_venv_dir "$leg")"
  requirements="$(leg_requirements "$leg")"
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
  # One resolution for Home Assistant, the test harness, the tools and the
  # integration's manifest requirements, then the three libraries whose
  # declared dependencies do not build, without those dependencies.
  "$uv" pip install --quiet --python "$venv/bin/python" -r "$requirements" >&2
  "$uv" pip install --quiet --python "$venv/bin/python" --no-deps \
    -r "$REPO_ROOT/requirements/nodeps.txt" >&2
  printf '%s\n' "$wanted" >"$stamp_file"
  printf '%s\n' "$venv/bin/python"
}

# Turn "--leg min|new|all" values into a list of legs.
expand_legs() {
  case "$1" in
    all) printf '%s\n' $LEGS_ALL ;;
    min | new) printf '%s\n' "$1" ;;
    *) die "unknown leg '$1' (use min, new or all)" ;;
  esac
}
