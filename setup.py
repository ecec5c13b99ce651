"""Build the compiled core `z6core` (Cython over fixed C structs).

Set ``Z6_DEBUG=1`` for a debug build: bounds and wraparound checks on, assertions
kept, line tracing on, no optimisation. The test suite passes on both builds.
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("Z6_DEBUG", "") not in ("", "0")

if sys.platform == "win32":
    compile_args = ["/Od", "/Zi"] if DEBUG else ["/O2"]
else:
    compile_args = ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O3"]

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


def core_extension(name: str) -> Extension:
    return Extension(
        f"z6core.{name}",
        [f"src/z6core/{name}.pyx"],
        include_dirs=[np.get_include(), "src/z6core"],
        define_macros=macros,
        extra_compile_args=compile_args,
    )


setup(
    ext_modules=cythonize(
        [core_extension(name) for name in ("_random", "_plan", "_outcomes", "_engine", "_hdr", "_live",
                                           "_httpparse")],
        compiler_directives=directives,
        include_path=["src"],
        # Always regenerate: the C differs between the debug and release builds,
        # and a stale file from the other kind must never be reused.
        force=True,
    ),
    options={"build_ext": {"force": True}},
)
