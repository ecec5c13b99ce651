"""Build the compiled core `z6core` (Cython over fixed C structs).

Set ``Z6_DEBUG=1`` for a debug build: bounds and wraparound checks on, assertions
kept, line tracing on, no optimisation. The test suite passes on both builds.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("Z6_DEBUG", "") not in ("", "0")

# Modules compile in parallel (Cython and the C compiler): Z6_BUILD_JOBS, or one
# per CPU.
JOBS = int(os.environ.get("Z6_BUILD_JOBS") or os.cpu_count() or 1)

# -O3 only where it pays: the engines', the histograms' and the summary's loops. Measured on the
# engine benchmark (docs/performance.md, "Build"): -O2 everywhere ran the default
# profile 3.7% slower (same instruction count, per callgrind); the other modules
# run once per run or per chunk, where -O2 is as good.
HOT_MODULES = {"_engine", "_open", "_live", "_hdr", "_summary", "_columns"}


def compile_args(name: str) -> list[str]:
    if sys.platform == "win32":
        return ["/Od", "/Zi"] if DEBUG else ["/O2"]
    if DEBUG:
        return ["-O0", "-g", "-UNDEBUG"]
    return ["-O3"] if name in HOT_MODULES else ["-O2"]

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "linetrace": DEBUG,
    "embedsignature": True,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    macros += [("CYTHON_TRACE_NOGIL", "1"), ("Z6_DEBUG", "1")]


_OPENSSL_MISSING = """z6 needs OpenSSL's development files (headers and libssl/libcrypto 3.x) to build its
live driver's TLS. Install them and build again:
    Debian/Ubuntu: apt-get install libssl-dev
    Fedora/RHEL/manylinux: yum install openssl-devel  (or dnf)
    Alpine/musllinux: apk add openssl-dev
    macOS: brew install openssl@3, then PKG_CONFIG_PATH=$(brew --prefix openssl@3)/lib/pkgconfig
(or set OPENSSL_DIR to a prefix holding include/openssl/ssl.h and lib/)"""


def _pkg_config(*args: str) -> list[str]:
    out = subprocess.run(["pkg-config", *args, "openssl"], capture_output=True, text=True, check=True).stdout
    return out.split()


def openssl_flags() -> dict:
    """Include and library flags for OpenSSL: OPENSSL_DIR, else pkg-config, else
    the compiler's default paths; a clear error naming the package when the
    headers are nowhere."""
    prefix = os.environ.get("OPENSSL_DIR")
    include_dirs: list[str] = []
    library_dirs: list[str] = []
    libraries = ["ssl", "crypto"]
    if prefix:
        include_dirs = [os.path.join(prefix, "include")]
        library_dirs = [d for d in (os.path.join(prefix, "lib64"), os.path.join(prefix, "lib")) if os.path.isdir(d)]
    elif shutil.which("pkg-config"):
        try:
            include_dirs = [f[2:] for f in _pkg_config("--cflags-only-I") if f.startswith("-I")]
            libs = _pkg_config("--libs")
            library_dirs = [f[2:] for f in libs if f.startswith("-L")]
            libraries = [f[2:] for f in libs if f.startswith("-l")] or libraries
        except (subprocess.CalledProcessError, OSError):
            pass
    candidates = include_dirs + ["/usr/include", "/usr/local/include", "/opt/homebrew/opt/openssl@3/include",
                                 "/usr/local/opt/openssl@3/include"]
    if sys.platform != "win32" and not any(os.path.isfile(os.path.join(d, "openssl", "ssl.h")) for d in candidates):
        sys.exit("error: OpenSSL headers not found (openssl/ssl.h).\n" + _OPENSSL_MISSING)
    for d in ("/opt/homebrew/opt/openssl@3", "/usr/local/opt/openssl@3"):
        if not include_dirs and sys.platform == "darwin" and os.path.isdir(d):
            include_dirs, library_dirs = [f"{d}/include"], [f"{d}/lib"]
    return {"include_dirs": include_dirs, "library_dirs": library_dirs, "libraries": libraries}


def core_extension(name: str) -> Extension:
    # Only the live driver speaks TLS, so only it links OpenSSL.
    ssl = openssl_flags() if name == "_live" else {"include_dirs": [], "library_dirs": [], "libraries": []}
    return Extension(
        f"z6core.{name}",
        [f"src/z6core/{name}.pyx"],
        include_dirs=[np.get_include(), "src/z6core", *ssl["include_dirs"]],
        library_dirs=ssl["library_dirs"],
        libraries=ssl["libraries"],
        define_macros=macros,
        extra_compile_args=compile_args(name),
    )


setup(
    ext_modules=cythonize(
        [core_extension(name) for name in ("_random", "_plan", "_outcomes", "_template", "_engine", "_open", "_hdr",
                                           "_summary", "_live", "_columns",
                                           "_httpparse")],
        compiler_directives=directives,
        include_path=["src"],
        # Always regenerate: the C differs between the debug and release builds,
        # and a stale file from the other kind must never be reused.
        force=True,
        nthreads=JOBS,
    ),
    options={"build_ext": {"force": True, "parallel": JOBS}},
)
