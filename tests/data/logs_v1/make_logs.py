"""How the format-1 logs in this directory were made (run from the repository's root).

They were written by the writer of commit 1c74624, the last that wrote format 1 only,
before format 2 existed; tests/test_log_v1.py checks that they still read exactly as
they did then (expected.json holds what that z6 read from them). Re-running this
script with a later z6 writes format 2 and would make them no test of format 1:
keep the files as they are.
"""
import json, warnings
from pathlib import Path
import z6
from z6.cli import main
from z6.log import EventLogWriter, make_header, read_log
from z6.events import event_digest
from z6.report import document_from_log

out = Path("tests/data/logs_v1")
# 1. a simulated run of examples/simulated.toml
assert main(["run", "examples/simulated.toml", "--simulate", "--quiet", "--out", str(out / "simulated")]) in (0, 1)
# 2. a partial log: the same scenario, 5 VUs for 3 s, cut after 4 chunks of 256 records (abort)
scn = z6.load_scenario("examples/simulated.toml")
plan = z6.compile_plan(scn, vus=5, duration_s=3.0)
w = EventLogWriter(out / "partial", make_header(scn, plan, vus_override=5, duration_override_s=3.0))
n = 0
for chunk in z6.iter_chunks(plan, chunk_records=256):
    w(chunk); n += 1
    if n == 4:
        break
w.abort()
# 3. a live run against the built-in target, 3 VUs for 1 s
assert main(["run", "examples/quickstart.toml", "--vus", "3", "--duration", "1", "--quiet", "--out", str(out / "live")]) in (0, 1)
expected = {}
for name in ("simulated", "partial", "live"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = read_log(out / name)
        doc = document_from_log(log) if log.complete else None
        expected[name] = {
            "records": len(log),
            "chunks": len(log.chunks),
            "status": log.status,
            "digest": event_digest(log.iter_chunks()),
            "footer_digest": log.footer.digest if log.footer else None,
            "kind_counts": dict(log.footer.kind_counts) if log.footer else None,
            "summary": doc,
        }
(out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
