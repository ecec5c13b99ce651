"""Run the z6 command line after recording the CPU time its start-up cost.

    python z6_timed.py STARTUP_JSON run SCENARIO --json

benchmarks/peers.py measures the whole process (user+sys from ``wait4``), so the
interpreter's start-up and z6's imports are charged to z6 like Locust's are to
Locust. To also report what the load generation itself costs, this wrapper imports
everything a live run imports, then writes its own CPU time so far to STARTUP_JSON
(``{"user_s": .., "sys_s": ..}``) before handing the remaining arguments to
``z6.cli.main``. Work done inside ``main`` (parsing the scenario, compiling the plan,
the run, the summary, printing JSON) is counted as the run's.
"""

from __future__ import annotations

import json
import os
import resource
import sys

# Imported here, before the CPU time is read, so that they count as start-up: the
# command line, the run path (numpy, the compiled core, the live driver's helpers).
import z6.cli
import z6.cli._run  # noqa: F401
import z6.run._run  # noqa: F401


def _write_startup_cpu(path: str) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        json.dump({"user_s": usage.ru_utime, "sys_s": usage.ru_stime}, out)
    os.replace(partial, path)  # the parent never reads a half-written file


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: z6_timed.py STARTUP_JSON Z6_ARGS...", file=sys.stderr)
        return 2
    _write_startup_cpu(argv[0])
    return z6.cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
