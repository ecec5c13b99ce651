"""The environment for a child Python process that must import this z6."""

from __future__ import annotations

import importlib.util
import os
import pathlib

__all__ = ["child_environment"]


def child_environment() -> dict[str, str]:
    """This environment, with z6 and z6core importable from where this process found them.

    A test or a script may have put them on ``sys.path`` by hand (or the core may
    be built in a checkout rather than installed); the child only sees PYTHONPATH.
    """
    roots: list[str] = []
    for package in ("z6", "z6core"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.append(str(pathlib.Path(list(spec.submodule_search_locations)[0]).resolve().parent))
    environment = dict(os.environ)
    if environment.get("PYTHONPATH"):
        roots.append(environment["PYTHONPATH"])
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(roots))
    return environment
