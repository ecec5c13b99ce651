"""The column codec's portable path (64-bit words, no SSE2: aarch64's build), run here.

An x86-64 build never compiles that path, so this test builds `z6core._columns`
again with ``__SSE2__`` undefined into a copy of the installed core, and runs the
codec's tests (`tests/test_log_columns.py`) against it in a child process. Needs
Cython, a C compiler and the source tree: skipped without them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import z6core

from conftest import REPO

_SOURCE = REPO / "src" / "z6core" / "_columns.pyx"


def _compiler() -> str | None:
    """A C compiler that runs (CC=/bin/false, as the wheel's checks set it, is none)."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return None
    try:
        works = subprocess.run([compiler, "--version"], capture_output=True).returncode == 0
    except OSError:
        return None
    return compiler if works else None


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{argv[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_portable_path_writes_and_reads_the_layouts_bytes(tmp_path):
    compiler = _compiler()
    if not sys.platform.startswith("linux") or compiler is None or not _SOURCE.is_file():
        pytest.skip("needs Linux, a C compiler and the source tree")
    pytest.importorskip("Cython")
    installed = Path(z6core.__file__).parent
    core = tmp_path / "z6core"
    shutil.copytree(installed, core, ignore=shutil.ignore_patterns("__pycache__"))
    # A repaired wheel's modules find their vendored libraries (OpenSSL) beside the
    # package, in z6.libs/ or the like: the copy needs them in the same place.
    for libs in installed.parent.glob("*.libs"):
        (tmp_path / libs.name).symlink_to(libs, target_is_directory=True)
    generated = tmp_path / "_columns.c"
    _run([sys.executable, "-m", "cython", "-3", "-I", str(REPO / "src"), str(_SOURCE), "-o", str(generated)])
    target = core / f"_columns{sysconfig.get_config_var('EXT_SUFFIX')}"
    target.unlink()
    _run([compiler, "-shared", "-fPIC", "-O1", "-U__SSE2__", "-DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION",
          f"-I{REPO / 'src' / 'z6core'}", f"-I{np.get_include()}", f"-I{sysconfig.get_paths()['include']}",
          str(generated), "-o", str(target)])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    which = _run([sys.executable, "-c", "import z6core._columns as c; print(c.__file__, c._vector_path(True))"],
                 env=env).stdout.split()
    assert which == [str(target), "baseline"]
    tests = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  str(REPO / "tests" / "test_log_columns.py"), "-k", "not the_avx2_path_is_chosen"],
                 env=env, cwd=REPO)
    assert " passed" in tests.stdout.splitlines()[-1]
