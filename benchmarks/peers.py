"""z6 beside wrk, hey and Locust: requests per second and CPU per request against nginx.

    python benchmarks/peers.py                 # 10 s per run, 3 repetitions (about 5 minutes)
    python benchmarks/peers.py --quick         # smoke run: 2 s per run, 1 repetition
    python benchmarks/peers.py --syscalls      # also count z6's and wrk's syscalls per request
    python benchmarks/peers.py --https         # z6 beside wrk over TLS 1.3: keep-alive, and a
                                               # handshake per request (Connection: close)

The script starts its own nginx (one worker pinned to the server CPU, access log off,
keep-alive connections for the whole run, ``GET /`` answering a 3-byte body) and runs
each load generator pinned to the client CPU with ``taskset``: 50 connections or VUs,
no think time, the same duration, one after another, repeated, the order rotated per
repetition so that no tool always runs first or last. For every run it records

* the completed requests, from the tool's own output (wrk's ``done()`` hook, hey's
  summary, Locust's ``--json-file`` stats, z6's ``--json`` summary);
* the load generator's CPU time: user+sys of the whole process tree, from ``wait4``
  on the child, so an interpreter's start-up and imports are charged like any other
  work (for z6 the start-up share is also reported separately);
* how busy the client and server CPUs were (``/proc/stat``), to show interference.

A second pass measures the median latency against a 10 ms endpoint (nginx's
``echo_sleep`` from libnginx-mod-http-echo, or ``z6 serve``'s ``/delay/10ms`` pinned to
the server CPU when the module cannot be had), with fewer VUs so that the server is
not the bottleneck.

It installs what is missing (wrk, hey, nginx and its echo module with apt-get, Locust
with pip) unless ``--no-install``; a tool that cannot be had is skipped with the reason.
The output is a Markdown report with medians over the repetitions and the ratios
issue 3 asks about. Nothing here is a pass/fail check: the script prints, it never
fails on a figure. Exit codes: 0 done, 2 bad option, 3 the benchmark could not run
(no nginx, no taskset, interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

# The helper modules and templates live in benchmarks/peers/ (like _z6bench.py beside
# the other benchmark scripts, they are imported by name, not installed).
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from _peers_measure import Measurement, PassResult, run_pass, syscall_report  # noqa: E402
from _peers_proc import BenchError, Installer, note  # noqa: E402
from _peers_report import latency_table, machine_lines, targets_table, throughput_table  # noqa: E402
from _peers_servers import DELAY_PATH, THROUGHPUT_PATH, Nginx, Z6Serve, find_echo_module  # noqa: E402
from _peers_tools import ALL_TOOLS, TOOL_NAMES, Job, Tool, Z6  # noqa: E402

EXIT_OK, EXIT_RUNTIME = 0, 3  # argparse exits 2 on a bad option itself


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def cpu_index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a CPU number, got {text!r}") from None
    allowed = os.sched_getaffinity(0)
    if value not in allowed:
        raise argparse.ArgumentTypeError(f"CPU {value} is not available here (allowed: "
                                         f"{','.join(map(str, sorted(allowed)))})")
    return value


def tool_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_TOOLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"must be a comma-separated subset of {','.join(TOOL_NAMES)}, "
                                         f"got {text!r}")
    return list(dict.fromkeys(names))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peers.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=positive_int, help="repetitions of each run (default 3; 1 with --quick)")
    parser.add_argument("--duration", type=positive_int, metavar="S",
                        help="seconds per run (default 10; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per run, 1 repetition")
    parser.add_argument("--vus", type=positive_int, default=50,
                        help="connections/VUs for the throughput pass (default 50)")
    parser.add_argument("--latency-vus", type=positive_int, default=10,
                        help="connections/VUs for the 10 ms latency pass (default 10)")
    parser.add_argument("--tools", type=tool_list, default=list(TOOL_NAMES),
                        help=f"which load generators to run (default {','.join(TOOL_NAMES)})")
    parser.add_argument("--client-cpu", type=cpu_index, default=0, help="CPU for the load generators (default 0)")
    parser.add_argument("--server-cpu", type=cpu_index, default=1, help="CPU for the server (default 1)")
    parser.add_argument("--delay-server", choices=("auto", "nginx-echo", "z6-serve"), default="auto",
                        help="the 10 ms endpoint: nginx's echo module, z6 serve, or auto (echo module "
                             "when it can be had)")
    parser.add_argument("--no-latency", action="store_true", help="skip the 10 ms latency pass")
    parser.add_argument("--syscalls", action="store_true",
                        help="also run z6 and wrk once under `strace -c -f` and print syscalls per request")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get or pip; skip what is missing")
    parser.add_argument("--https", action="store_true",
                        help="z6 and wrk over HTTPS (TLS 1.3, a certificate made for the run): a keep-alive "
                             "pass, then a handshake-bound pass with Connection: close, z6 with and without "
                             "session resumption")
    parser.add_argument("--json-out", type=Path, metavar="FILE",
                        help="also write every run's raw figures to FILE (JSON), once all runs are done")
    return parser


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.client_cpu == args.server_cpu:
        parser.error(f"--client-cpu and --server-cpu must differ, both are {args.client_cpu}")
    if args.json_out is not None and not args.json_out.resolve().parent.is_dir():
        parser.error(f"--json-out: directory {args.json_out.resolve().parent} does not exist")
    if args.https:
        args.no_latency = True
        args.tools = [t for t in args.tools if t in ("wrk", "z6")] or ["wrk", "z6"]
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.duration is None:
        args.duration = 2 if args.quick else 10
    return args


def require_programs(installer: Installer) -> None:
    if sys.platform != "linux":
        raise BenchError("this benchmark needs Linux (taskset, /proc, wait4 usage)")
    if shutil.which("taskset") is None:
        raise BenchError("taskset (util-linux) is not on PATH")
    if shutil.which("nginx") is None:
        reason = installer.apt("nginx")
        if reason is not None or shutil.which("nginx") is None:
            raise BenchError(f"nginx is needed as the target: {reason or 'still not on PATH'}")


def choose_delay_server(args: argparse.Namespace, installer: Installer) -> tuple[Optional[Path], str]:
    """Decide how the 10 ms endpoint is served: (echo module or None, description)."""
    if args.no_latency:
        return None, "not measured (--no-latency)"
    if args.delay_server in ("auto", "nginx-echo"):
        module, reason = find_echo_module(installer)
        if module is not None:
            return module, f"nginx `echo_sleep 0.010` then the same 3-byte answer as `/` ({module.name})"
        if args.delay_server == "nginx-echo":
            raise BenchError(f"--delay-server nginx-echo: {reason}")
        note(f"nginx's echo module is not available ({reason}); using z6 serve for {DELAY_PATH}")
    if Z6().ensure(installer) is not None:
        raise BenchError("the 10 ms endpoint needs nginx's echo module or z6 serve, and neither works here")
    return None, f"`z6 serve` ({DELAY_PATH}) pinned to CPU {args.server_cpu}, nginx's echo module not used"


def usable_tools(names: Sequence[str], installer: Installer) -> tuple[list[Tool], list[str]]:
    """The tools that can run (installed if needed), and why each other one cannot."""
    tools: list[Tool] = []
    skipped: list[str] = []
    for name in names:
        tool = ALL_TOOLS[name]()
        reason = tool.ensure(installer)
        if reason is None:
            tools.append(tool)
        else:
            skipped.append(f"{name}: {reason}")
            note(f"skipping {name}: {reason}")
    if not tools:
        raise BenchError("no load generator can run: " + "; ".join(skipped))
    return tools, skipped


@dataclass
class Results:
    tools: list[Tool]
    skipped: list[str]
    versions: dict[str, str]
    delay_server: str
    affinity: str
    throughput: PassResult
    latency: Optional[PassResult]
    syscalls: list[str]

    def all_runs(self) -> list[Measurement]:
        return [m for p in (self.throughput, self.latency) if p for runs in p.runs.values() for m in runs]


def run_https(args: argparse.Namespace, installer: Installer, workdir: Path) -> Results:
    """The --https passes: keep-alive over TLS 1.3, then one handshake per request."""
    from z6.serve._tls import make_certificate  # this checkout's z6 (z6_env puts it on the path)

    require_programs(installer)
    tools, skipped = usable_tools(args.tools, installer)
    if "z6" in [t.name for t in tools]:
        tools_close = [*tools, ALL_TOOLS["z6-noresume"]()]
    else:
        tools_close = list(tools)
    versions = {tool.name: tool.version() for tool in tools}
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    versions["nginx"] = nginx_v.stderr.strip().replace("nginx version: ", "")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    make_certificate(str(cert), str(key))
    nginx = Nginx(workdir, args.server_cpu, None, tls=(cert, key))
    try:
        nginx.start()
        affinity = nginx.worker_affinity()
        note(f"nginx on {nginx.base_url} ({affinity}); {len(tools)} tool(s), {args.repeat} x {args.duration} s")
        keep = run_pass(
            f"HTTPS keep-alive: GET / (3-byte body), TLS 1.3, {args.vus} connections/VUs, no think time, "
            f"{args.duration} s",
            Job("https", nginx.base_url, THROUGHPUT_PATH, args.vus, args.duration, ca_file=str(cert)),
            tools, args.repeat, workdir, args.client_cpu, args.server_cpu)
        close = run_pass(
            f"HTTPS handshake-bound: GET / with Connection: close (a TLS 1.3 handshake per request), "
            f"{args.vus} connections/VUs, {args.duration} s; z6 resumes sessions, z6-noresume does not",
            Job("https-close", nginx.base_url, THROUGHPUT_PATH, args.vus, args.duration,
                headers=(("Connection", "close"),), ca_file=str(cert)),
            tools_close, args.repeat, workdir, args.client_cpu, args.server_cpu)
    finally:
        nginx.stop()
    return Results(tools, skipped, versions, "not measured (--https)", affinity, keep, close, [])


def https_targets(keep: PassResult, close: PassResult) -> list[str]:
    def ratio(result: PassResult, tool: str, what, wrk_what=None) -> Optional[float]:
        a, b = result.median_of(tool, what), result.median_of("wrk", wrk_what or what)
        return a / b if a is not None and b else None

    cpu = lambda m: m.cpu_us_per_request
    run_cpu = lambda m: m.run_cpu_us_per_request
    rate = lambda m: m.rate
    lines = ["### HTTPS against the issue's targets (medians, ratios within this run)", "",
             "| comparison | measured | target |", "|---|---:|---|"]
    rows = [("keep-alive: z6 CPU per request ÷ wrk's", ratio(keep, "z6", cpu), "≤ 1.25x"),
            ("keep-alive: same, z6's start-up excluded", ratio(keep, "z6", run_cpu, cpu), "≤ 1.25x"),
            ("keep-alive: z6 req/s ÷ wrk's", ratio(keep, "z6", rate), "≥ 0.9x"),
            ("Connection: close: z6 (resuming) CPU per request ÷ wrk's", ratio(close, "z6", cpu), "(reported)"),
            ("Connection: close: z6 (resuming) req/s ÷ wrk's", ratio(close, "z6", rate), "(reported)"),
            ("Connection: close: z6 without resumption CPU per request ÷ wrk's",
             ratio(close, "z6-noresume", cpu), "(reported)"),
            ("Connection: close: z6 without resumption req/s ÷ wrk's", ratio(close, "z6-noresume", rate),
             "(reported)")]
    for label, value, target in rows:
        lines.append(f"| {label} | {'–' if value is None else f'{value:.2f}x'} | {target} |")
    return lines


def run_benchmark(args: argparse.Namespace, installer: Installer, workdir: Path) -> Results:
    """Start the servers, run both passes (and strace if asked), stop the servers."""
    require_programs(installer)
    tools, skipped = usable_tools(args.tools, installer)
    versions = {tool.name: tool.version() for tool in tools}
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    versions["nginx"] = nginx_v.stderr.strip().replace("nginx version: ", "")
    echo_module, delay_server = choose_delay_server(args, installer)
    servers: list[Nginx | Z6Serve] = []
    try:
        nginx = Nginx(workdir, args.server_cpu, echo_module)
        servers.append(nginx)
        nginx.start()
        affinity = nginx.worker_affinity()
        delay_base = nginx.base_url
        if not args.no_latency and echo_module is None:
            z6_serve = Z6Serve(workdir, args.server_cpu)
            servers.append(z6_serve)
            z6_serve.start()
            delay_base = z6_serve.base_url
        note(f"nginx on {nginx.base_url} ({affinity}); {len(tools)} tool(s), "
             f"{args.repeat} x {args.duration} s per pass")
        throughput = run_pass(
            f"Throughput: GET / (3-byte body), {args.vus} connections/VUs, no think time, {args.duration} s",
            Job("throughput", nginx.base_url, THROUGHPUT_PATH, args.vus, args.duration),
            tools, args.repeat, workdir, args.client_cpu, args.server_cpu)
        latency = None
        if not args.no_latency:
            latency = run_pass(
                f"Latency: GET {DELAY_PATH}, {args.latency_vus} connections/VUs, no think time, {args.duration} s",
                Job("latency", delay_base, DELAY_PATH, args.latency_vus, args.duration),
                tools, args.repeat, workdir, args.client_cpu, args.server_cpu)
        syscalls: list[str] = []
        if args.syscalls:
            traced = [tool for tool in tools if tool.name in ("z6", "wrk")]
            reason = None if shutil.which("strace") else installer.apt("strace")
            if reason is not None or not traced:
                syscalls = ["### Syscalls per request", "",
                            f"Not measured: {reason or 'neither z6 nor wrk is among the tools'}."]
            else:
                strace_job = Job("strace", nginx.base_url, THROUGHPUT_PATH, args.vus, 2)
                syscalls = syscall_report(traced, strace_job, workdir, args.client_cpu)
    finally:
        for server in reversed(servers):
            server.stop()
    return Results(tools, skipped, versions, delay_server, affinity, throughput, latency, syscalls)


def render(args: argparse.Namespace, results: Results, load_start: tuple[float, ...]) -> str:
    report = machine_lines(args, results.versions, results.delay_server, results.affinity, load_start)
    if results.skipped:
        report += ["Skipped: " + "; ".join(results.skipped) + ".", ""]
    report += throughput_table(results.throughput) + [""]
    if args.https and results.latency is not None:
        report += throughput_table(results.latency) + [""]
        report += https_targets(results.throughput, results.latency) + [""]
        return "\n".join(report).rstrip()
    if results.latency is not None:
        report += latency_table(results.latency, {tool.name: tool for tool in results.tools}) + [""]
    report += targets_table(results.throughput, results.latency) + [""]
    if results.syscalls:
        report += results.syscalls + [""]
    for m in results.all_runs():
        if not m.ok:
            report.append(f"- failed run: {m.pass_name} {m.repetition + 1} {m.tool}: {m.failure}")
    return "\n".join(report).rstrip()


def write_raw(path: Path, args: argparse.Namespace, results: Results) -> None:
    raw = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "versions": results.versions, "delay_server": results.delay_server, "skipped": results.skipped,
           "runs": [asdict(m) for m in results.all_runs()]}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(raw, indent=2))
    os.replace(partial, path)  # never a half-written file under the real name


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    installer = Installer(allowed=not args.no_install)
    load_start = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="z6-peers-") as tmp:
            results = (run_https if args.https else run_benchmark)(args, installer, Path(tmp))
    except KeyboardInterrupt:
        note("interrupted: no report")
        return EXIT_RUNTIME
    except BenchError as exc:
        note(f"error: {exc}")
        return EXIT_RUNTIME
    print(render(args, results, load_start))
    if args.json_out is not None:
        write_raw(args.json_out, args, results)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
