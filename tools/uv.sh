# Sourced by the scripts in tools/: a pinned uv in .tools/, bootstrapped from PyPI with pip.
# Sets UV (the uv command) and PY (the interpreter the project runs on).
# uv reads uv.lock, the whole dependency tree with hashes, made by `bash tools/update-lock`.

UV_VERSION=0.13.9
PY=${PYTHON:-python3}

die() { echo "amtterm setup: $*" >&2; exit 1; }

command -v "$PY" >/dev/null || die "no $PY on PATH: install Python 3.11 or newer (Debian: apt-get install python3)."
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "amtterm needs Python 3.11 or newer; $PY is $("$PY" -V 2>&1)."

# Debian's python3 comes without venv and ensurepip (they are in python3-venv).
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    die "$PY cannot make virtual environments: install python3-venv (as root: apt-get install python3-venv)."
  fi
  echo "amtterm setup: installing python3-venv with apt-get" >&2
  log=$(mktemp)
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv; } \
    >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; die "apt-get could not install python3-venv (above)."; }
  rm -f "$log"
fi

UV=.tools/bin/uv
if [ ! -x "$UV" ] || [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  rm -rf .tools
  "$PY" -m venv .tools
  .tools/bin/python -m pip install -qq --disable-pip-version-check "uv==$UV_VERSION"
fi

# The project's interpreter is the one named above, never one uv downloads; an activated venv of
# another project is not ours to touch.
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
unset VIRTUAL_ENV
