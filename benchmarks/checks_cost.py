"""What response checks cost a live run, beside the same run without them (issue 15).

    PYTHONPATH=src:python python benchmarks/checks_cost.py [--rounds 4 --duration 5 --vus 50]

nginx (one worker on CPU 1, access log off) serves ``/session`` (3 bytes and a
``Set-Cookie: sid=...; Path=/`` on every response) and ``/item.json`` (a 1 KiB JSON
document); z6 runs in this process on CPU 0, 50 VUs, no think time. Five runs a
round, interleaved and rotated from round to round:

* ``plain``: ``GET /session`` without checks, ``[target] cookies = false`` and
  ``follow_redirects = 0`` (nothing of a response kept);
* ``status-jar``: the same with ``checks = { status = [200] }``, the cookie jar on
  and redirects followed (the defaults: every head kept, its Set-Cookie stored and
  its status looked at for a redirect, every request sent with its ``Cookie`` line);
* ``json-plain``: ``GET /item.json`` without checks, cookies and redirects off;
* ``json-check``: ``GET /item.json`` with a JSON check on a value near its end;
* ``json-extract``: ``GET /item.json`` extracting that value into a variable which
  the request's own header sends back (the body kept, scanned and the value stored
  for every response, the request rendered from its template).

CPU µs per request is this process's user + system time over the requests the
run issued. The issue's goals: a status check with a cookie jar within 1.1x of
plain; a JSON extraction from a 1 KiB body within 1.3x of json-plain. Figures
only: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _z6bench import ensure_importable

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

# A 1 KiB JSON document whose checked value comes last, so the scan reads it all.
ITEMS = [{"id": i, "name": f"item-{i:03d}", "price": 10.5 + i, "tags": ["a", "b"]} for i in range(15)]
DOCUMENT = json.dumps({"items": ITEMS, "total": len(ITEMS), "ok": True})
CHECKED_PATH = "ok"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def scenario_text(base_url: str, path: str, keys: str, duration_s: float, vus: int, cookies: bool) -> str:
    return (f'[runtime]\nduration_seconds = {duration_s}\nvus = {vus}\nprng_seed = 1\n'
            f'[target]\nbase_url = "{base_url}"\ncookies = {"true" if cookies else "false"}\n'
            f'follow_redirects = {10 if cookies else 0}\n'
            f'[[requests]]\nname = "get"\nmethod = "GET"\npath = "{path}"\n'
            + keys
            + '[think_time]\ntype = "constant"\nduration_ms = 0\n'
            + "[assertions]\ndefault = false\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--vus", type=int, default=50)
    args = parser.parse_args()
    ensure_importable()
    import z6
    from _peers_servers import Nginx

    assert len(DOCUMENT) >= 1000, len(DOCUMENT)
    body = DOCUMENT.replace("\\", "\\\\").replace('"', '\\"')
    location = (f"        location = /item.json {{\n            default_type application/json;\n"
                f"            return 200 \"{body}\";\n        }}\n"
                "        location = /session {\n            add_header Set-Cookie \"sid=3f9a1c7e5b2d; Path=/\";\n"
                "            return 200 \"ok\\n\";\n        }\n")
    workdir = Path(tempfile.mkdtemp(prefix="z6-checks-cost-"))
    nginx = Nginx(workdir, server_cpu=1, echo_module=None, extra_locations=location)
    os.sched_setaffinity(0, {0})
    modes = {   # (path, request keys, cookie jar on)
        "plain": ("/session", "", False),
        "status-jar": ("/session", "checks = { status = [200] }\n", True),
        "json-plain": ("/item.json", "", False),
        "json-check": ("/item.json", f'checks = {{ json = {{ "{CHECKED_PATH}" = true }} }}\n', False),
        "json-extract": ("/item.json", f'extract = {{ ok = {{ json = "{CHECKED_PATH}", default = "-" }} }}\n'
                                       'headers = { X-Ok = "${var.ok}" }\n', False),
    }
    figures: dict[str, list[float]] = {m: [] for m in modes}
    try:
        nginx.start()
        order = list(modes)
        for r in range(args.rounds):
            for mode in order[r % len(order):] + order[:r % len(order)]:
                path, keys, cookies = modes[mode]
                scenario = z6.parse_scenario(scenario_text(nginx.base_url, path, keys, args.duration, args.vus,
                                                           cookies), source=f"{mode}.toml")
                before = _cpu_s()
                result = z6.run_scenario(scenario)
                cpu = _cpu_s() - before
                o = result.summary.overall
                if o.failed:
                    raise SystemExit(f"{mode}: {o.failed} requests failed ({o.errors}): the benchmark is not valid")
                figures[mode].append(cpu / o.requests * 1e6)
                print(f"round {r} {mode:<10}: {o.requests} requests, {cpu / o.requests * 1e6:.2f} µs CPU/request",
                      file=sys.stderr)
    finally:
        nginx.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    median = {m: statistics.median(v) for m, v in figures.items()}
    print(json.dumps({"rounds": args.rounds, "duration_s": args.duration, "vus": args.vus,
                      "body_bytes": len(DOCUMENT), "cpu_us_per_request": figures, "median": median,
                      "status_jar_over_plain": median["status-jar"] / median["plain"],
                      "json_check_over_json_plain": median["json-check"] / median["json-plain"],
                      "json_extract_over_json_plain": median["json-extract"] / median["json-plain"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
