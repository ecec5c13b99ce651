"""What templates cost: CPU per request of a templated request beside the same
request without templates, against nginx (the peer benchmark's set-up).

    python benchmarks/templates.py                # 10 s per run, 3 repetitions of each
    python benchmarks/templates.py --quick        # 2 s per run, 1 repetition

nginx runs as in benchmarks/peers.py (one worker pinned to the server CPU, access
log off, ``GET /`` answering 3 bytes); z6 runs pinned to the client CPU with 50
VUs, no think time, one request: either plain, or with three substitutions (a data
column in the path, a random int in the path, a data column in a header value)
rendering to the same length. The two alternate within this one invocation, the
order rotated per repetition. CPU is the z6 process's user+sys (``wait4``) less its
start-up (``z6_timed.py``), per completed request. Prints a Markdown table; no
figure is a pass/fail check. Exit 0 done, 2 bad option, 3 could not run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from _peers_proc import BenchError, run_child, z6_env  # noqa: E402
from _peers_servers import Nginx  # noqa: E402

TIMED = Path(__file__).resolve().parent / "peers" / "z6_timed.py"
ROWS = 1000

SCENARIO = """
[runtime]
duration_seconds = {duration}
vus = {vus}
prng_seed = 1
[target]
base_url = "{base_url}"
[think_time]
type = "constant"
duration_ms = 0
[[data]]
name = "users"
file = "users.csv"
pick = "per_vu"
[[requests]]
name = "get"
method = "GET"
path = '{path}'
headers = {{ X-User = "{header}" }}
"""

VARIANTS = {
    # same rendered length: user names and tokens are 9 characters, the int 6 digits
    "plain": ("/?user=user00001&id=123456", "tok000001"),
    "templated": ("/?user=${data.users.name}&id=${random.int(100000,999999)}", "${data.users.token}"),
}


def run_once(workdir: Path, variant: str, args: argparse.Namespace, base_url: str) -> tuple[int, float]:
    path, header = VARIANTS[variant]
    scenario = workdir / f"{variant}.toml"
    scenario.write_text(SCENARIO.format(duration=args.duration, vus=args.vus, base_url=base_url, path=path,
                                        header=header))
    out, err = workdir / f"{variant}.out", workdir / f"{variant}.err"
    usage = run_child(["taskset", "-c", str(args.client_cpu), sys.executable, str(TIMED), str(workdir / "startup.json"),
                       "run", str(scenario), "--json"], env=z6_env(), cwd=workdir, stdout=out, stderr=err,
                      timeout_s=args.duration * 4 + 60)
    if usage.exit_code not in (0, 1):
        raise BenchError(f"z6 exited {usage.exit_code}: {err.read_text()[-500:]}")
    summary = json.loads(out.read_text())["summary"]
    startup = json.loads((workdir / "startup.json").read_text())
    cpu = usage.cpu_user_s + usage.cpu_sys_s - startup["user_s"] - startup["sys_s"]
    return int(summary["completed"]), cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.reps = 2.0, 1
    if not shutil.which("nginx") or not shutil.which("taskset"):
        print("templates.py: needs nginx and taskset", file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory(prefix="z6-templates-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "users.csv").write_text("name,token\n" + "".join(f"user{i:05d},tok{i:06d}\n" for i in range(ROWS)))
        nginx = Nginx(workdir, args.server_cpu, None)
        results: dict[str, list[tuple[int, float]]] = {v: [] for v in VARIANTS}
        try:
            nginx.start()
            order = list(VARIANTS)
            for rep in range(args.reps):
                for variant in order[rep % 2:] + order[:rep % 2]:
                    results[variant].append(run_once(workdir, variant, args, nginx.base_url))
        except BenchError as exc:
            print(f"templates.py: {exc}", file=sys.stderr)
            return 3
        finally:
            nginx.stop()
    us = {v: statistics.median(cpu / n * 1e6 for n, cpu in runs) for v, runs in results.items()}
    rps = {v: statistics.median(n / args.duration for n, _ in runs) for v, runs in results.items()}
    print(f"| variant | requests/s (median) | CPU us/request (median of {args.reps}) |")
    print("|---|---|---|")
    for v in VARIANTS:
        print(f"| {v} | {rps[v]:,.0f} | {us[v]:.2f} |")
    print(f"\ntemplated / plain CPU per request: {us['templated'] / us['plain']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
