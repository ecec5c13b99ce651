"""[lifecycle] on_start and on_stop, simulated: each VU's first requests are its
on_start ones and its last its on_stop ones, a failed on_start ends the VU
(counted), the weighted mix never picks a weight-0 lifecycle request, and bad
[lifecycle] tables are refused naming the key."""

from __future__ import annotations

import json

import numpy as np
import pytest

import z6
import z6.cli
from z6.errors import ScenarioError
from z6.events import ErrorCode, EventKind

K = EventKind

REQUESTS = """
[[requests]]
name = "login"
method = "POST"
path = "/login"
weight = 0
[[requests]]
name = "profile"
method = "GET"
path = "/me"
weight = 0
[[requests]]
name = "browse"
method = "GET"
path = "/items"
weight = 3
[[requests]]
name = "buy"
method = "POST"
path = "/buy"
weight = 1
[[requests]]
name = "logout"
method = "POST"
path = "/logout"
weight = 0
"""


def text(runtime: str = "duration_seconds = 3\nvus = 6", lifecycle: str = 'on_start = ["login", "profile"]\n'
         'on_stop = ["logout"]', statuses: str = "{ 200 = 1 }", schedule: str = "", extra: str = "") -> str:
    return f"""
[runtime]
prng_seed = 9
{runtime}
[target]
base_url = "http://127.0.0.1:8080"
{REQUESTS}
[lifecycle]
{lifecycle}
[think_time]
type = "uniform"
min_ms = 20
max_ms = 200
{schedule}
[simulation]
latency = {{ type = "exponential", mean_ms = 15 }}
status_codes = {statuses}
{extra}
"""


def run(source: str) -> np.ndarray:
    plan = z6.compile_plan(z6.parse_scenario(source, source="lifecycle.toml"))
    return np.concatenate(list(z6.iter_chunks(plan, 1000)))


def requests_of(events: np.ndarray, vu: int) -> list[int]:
    mine = events[(events["vu_id"] == vu) & (events["kind"] == K.REQUEST_ISSUED)]
    assert np.array_equal(mine["seq"], np.arange(mine.size))
    return mine["request"].tolist()


def test_each_vu_starts_with_its_on_start_and_ends_with_its_on_stop_requests():
    events = run(text())
    for vu in range(1, 7):
        reqs = requests_of(events, vu)
        assert reqs[:2] == [0, 1] and reqs[-1] == 4, reqs
        middle = reqs[2:-1]
        assert len(middle) > 5 and set(middle) <= {2, 3}      # weight 0: never picked by weight
    complete = events[events["kind"] == K.VU_COMPLETE]
    assert complete.size == 6 and not np.any(complete["error"])


def test_on_stop_requests_run_after_the_schedule_ends_within_the_graceful_stop():
    events = run(text(runtime="duration_seconds = 3\nvus = 6\ngraceful_stop_seconds = 5"))
    logout = events[(events["kind"] == K.REQUEST_ISSUED) & (events["request"] == 4)]
    assert logout.size == 6
    assert np.all(logout["tick"] >= 2990)          # each at its VU's schedule end or its last outcome after it
    # Issued back to back: no think time before a lifecycle request.
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    for vu in range(1, 7):
        mine = issued[issued["vu_id"] == vu]
        outcomes = events[(events["vu_id"] == vu) & np.isin(events["kind"], [K.RESPONSE_RECEIVED])]
        assert mine["tick"][1] == outcomes["tick"][0]      # profile right after login's response
        assert mine["tick"][2] == outcomes["tick"][1]      # the first iteration right after profile's


def test_iterations_count_without_the_lifecycle_requests():
    events = run(text(runtime="iterations = 4\nvus = 3"))
    for vu in range(1, 4):
        reqs = requests_of(events, vu)
        assert len(reqs) == 2 + 4 + 1 and reqs[:2] == [0, 1] and reqs[-1] == 4


def test_a_failed_on_start_request_ends_the_vu_and_is_counted(tmp_path):
    events = run(text(runtime="duration_seconds = 2\nvus = 40", statuses="{ 200 = 0.7, 503 = 0.3 }"))
    complete = events[events["kind"] == K.VU_COMPLETE]
    failed_vus = set(complete["vu_id"][complete["error"] == ErrorCode.ON_START_FAILED].tolist())
    assert 0 < len(failed_vus) < 40
    outcomes = events[events["kind"] == K.RESPONSE_RECEIVED]
    for vu in range(1, 41):
        reqs = requests_of(events, vu)
        mine = outcomes[outcomes["vu_id"] == vu]
        login_failed = int(mine["status"][0]) >= 400
        profile_failed = len(mine) > 1 and int(mine["status"][1]) >= 400 and reqs[1] == 1
        if vu in failed_vus:
            # Its last request was a failed on_start one; nothing after it, no logout.
            assert login_failed or profile_failed
            assert reqs == ([0] if login_failed else [0, 1])
        else:
            assert not login_failed and not profile_failed and reqs[-1] == 4
    # The summary counts them, in summary.json too.
    path = tmp_path / "lc.toml"
    path.write_text(text(runtime="duration_seconds = 2\nvus = 40", statuses="{ 200 = 0.7, 503 = 0.3 }"))
    assert z6.cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "run")]) == 1  # error rate
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert doc["summary"]["failed_vus"] == len(failed_vus)
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0
    from z6.analysis import recompute_run
    analyzed = recompute_run(tmp_path / "run")
    assert analyzed.summary.failed_vus == len(failed_vus)


def test_the_same_seed_gives_the_same_events_and_without_lifecycle_no_failed_vus_figure():
    assert z6.event_digest([run(text())]) == z6.event_digest([run(text())])
    plan = z6.compile_plan(z6.parse_scenario(text(lifecycle=""), source="x.toml"))
    assert plan.on_start.size == 0 and plan.on_stop.size == 0
    result = z6.run_scenario(z6.parse_scenario(text(lifecycle='on_stop = ["logout"]'), source="x.toml"))
    assert result.summary.failed_vus is None and "failed_vus" not in result.summary.to_dict()


def test_a_split_run_keeps_each_vus_lifecycle():
    source = text()
    plan = z6.compile_plan(z6.parse_scenario(source, source="x.toml"))
    whole = z6.event_digest(z6.iter_chunks(plan))
    from z6.distributed import iter_split_chunks, split_plan
    assert z6.event_digest(iter_split_chunks([p for _, p in split_plan(plan, 3)], 4096)) == whole


BAD = [
    ('on_start = ["login", "logn"]', "lifecycle.on_start[1]: must name a request, got \"logn\" (did you mean 'login'?)"),
    ('on_stop = "logout"', "lifecycle.on_stop"),
    ('on_start = [""]', "lifecycle.on_start[0]"),
    ("on_start = [" + ", ".join(['"login"'] * 65) + "]", "lifecycle.on_start"),
    ('on_begin = ["login"]', "lifecycle.on_begin"),
]


@pytest.mark.parametrize("lifecycle, message", BAD, ids=[b[1][:24] for b in BAD])
def test_bad_lifecycle_tables_are_refused_naming_the_key(lifecycle, message):
    with pytest.raises(ScenarioError) as caught:
        z6.parse_scenario(text(lifecycle=lifecycle), source="lc.toml")
    assert message in str(caught.value)


def test_not_with_an_arrival_rate_schedule(tmp_path, capsys):
    schedule = '[schedule]\ntype = "arrival_rate"\nrate = 10\nduration_seconds = 1\nvus = 2'
    source = text(runtime="", schedule=schedule).replace('[think_time]\ntype = "uniform"\nmin_ms = 20\nmax_ms = 200\n',
                                                         "")
    path = tmp_path / "open.toml"
    path.write_text(source)
    assert z6.cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "lifecycle: does not apply to a schedule.type = \"arrival_rate\" schedule" in err and "Traceback" not in err


def test_an_on_start_request_cancelled_by_the_schedules_end_is_not_a_failed_vu():
    source = text(runtime="duration_seconds = 0.5\nvus = 5\ngraceful_stop_seconds = 0").replace(
        'latency = { type = "exponential", mean_ms = 15 }', 'latency = { type = "constant", ms = 2000 }')
    events = run(source)
    cancelled = events[events["kind"] == K.REQUEST_CANCELLED]
    assert cancelled.size == 5 and np.all(cancelled["request"] == 0)      # every login cut at the end
    complete = events[events["kind"] == K.VU_COMPLETE]
    assert complete.size == 5 and not np.any(complete["error"])
