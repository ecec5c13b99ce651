"""Logs whose CRCs are valid but whose content no run writes (issue 12).

A CRC says the bytes are the ones written; it does not say they mean anything.
Chunks swapped (and renumbered, CRCs recomputed), a request index past the
header's names, an unknown kind, a VU the header does not cover, an empty
``request_names``, header JSON nested 100,000 deep: every command that reads a
log exits 2 with one line naming the file and the chunk, byte offset and record
(or the header) at fault, never 4 and never 0.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from z6.cli import main
from z6.log import LogError, read_log
from z6.log._format import CRC, PREFIX

from test_log_helpers import mixed_scenario, rewrite_log, write_log

COMMANDS = [
    ("analyze", "{log}"),
    ("export", "{log}", "--to", "csv", "-o", "{tmp}/out.csv"),
    ("report", "{log}", "-o", "{tmp}/report.html", "--json", "{tmp}/summary.json"),
    ("replay", "{log}", "--verify"),
    ("replay", "{log}", "--metrics-only"),
    ("diff", "{good}", "{log}"),
    ("diff", "{log}", "{good}"),
]


@pytest.fixture(scope="module", params=[1, 2], ids=["v1", "v2"])
def good(request, tmp_path_factory):
    """A sound log in format 1 or 2; the bad logs are made from it in the same format."""
    return write_log(tmp_path_factory.mktemp("good"), mixed_scenario(), chunk_records=6, version=request.param)


def _events(good):
    return read_log(good).events.copy()


def _with_header_doc(good, directory, change) -> str:
    """``good`` with its header JSON changed by ``change(text) -> text``, the header CRC recomputed."""
    data = good.read_bytes()
    magic, version, record_size, n = PREFIX.unpack_from(data)
    text = data[PREFIX.size:PREFIX.size + n].decode("ascii").rstrip(" ")
    body = change(text).encode("ascii")
    body += b" " * (-(PREFIX.size + len(body) + CRC.size) % 8)
    head = PREFIX.pack(magic, version, record_size, len(body)) + body
    directory.mkdir()
    path = directory / "events.z6log"
    path.write_bytes(head + CRC.pack(zlib.crc32(head)) + data[PREFIX.size + n + CRC.size:])
    return str(path)


def swapped_chunks(good, directory):
    events = _events(good)
    # Chunks of 6 records: put chunk 3's records before chunk 1's; rewritten, every CRC and number is valid.
    order = np.r_[0:6, 18:24, 12:18, 6:12, 24:events.size]
    return str(rewrite_log(good, directory, events=events[order], chunk_records=6)), "chunk 2 at byte offset", \
        "is before the previous record's tick"


def request_fffe(good, directory):
    events = _events(good)
    events["request"][7] = 0xFFFE
    return str(rewrite_log(good, directory, events=events, chunk_records=6)), "chunk 1 at byte offset", \
        "record 1 of the chunk: request index 65534 is out of range: the header names 2 requests (0 to 1, or 65535"


def unknown_kind(good, directory):
    events = _events(good)
    events["kind"][2] = 99
    return str(rewrite_log(good, directory, events=events, chunk_records=6)), "chunk 0 at byte offset", \
        "record 2 of the chunk: unknown event kind 99"


def stranger_vu(good, directory):
    events = _events(good)
    events["vu_id"][events.size - 1] = 3
    return str(rewrite_log(good, directory, events=events, chunk_records=6)), "at byte offset", \
        "VU id 3 is not one of the header's VUs (1 to 2, or 0 for none)"


def empty_request_names(good, directory):
    def change(text):
        doc = json.loads(text)
        doc["request_names"] = []
        return json.dumps(doc, sort_keys=True)
    return _with_header_doc(good, directory, change), "header at byte offset 0", \
        "request_names must name 1 to 65534 requests, got 0"


def deep_header_json(good, directory):
    return _with_header_doc(good, directory, lambda text: '{"x": ' + "[" * 100_000 + "]" * 100_000 + ", " + text[1:]), \
        "header at byte offset 0", "arrays and objects must nest at most 64 levels deep"


def deep_footer_json(good, directory):
    data = good.read_bytes()
    at = data.rindex(b"FOOT")
    doc = data[at + 8:-4].decode("ascii")
    body = ('{"x": ' + "{\"a\": " * 100_000 + "1" + "}" * 100_000 + ", " + doc[1:]).encode("ascii")
    head = b"FOOT" + struct.pack("<I", len(body)) + body
    directory.mkdir()
    path = directory / "events.z6log"
    path.write_bytes(data[:at] + head + CRC.pack(zlib.crc32(head)))
    return str(path), "footer at byte offset", "arrays and objects must nest at most 64 levels deep"


BAD_LOGS = [swapped_chunks, request_fffe, unknown_kind, stranger_vu, empty_request_names, deep_header_json,
            deep_footer_json]


@pytest.mark.parametrize("make", BAD_LOGS, ids=[m.__name__ for m in BAD_LOGS])
def test_read_log_refuses_it(good, tmp_path, make):
    path, where, what = make(good, tmp_path / "bad")
    # Without verify, or with the record checks deferred, each chunk is checked as it is
    # read, on the caller's thread or on the reader's own (read_ahead): the same error.
    for verify, defer, read_ahead in ((True, False, 0), (False, False, 0), (True, True, 0), (True, True, 2)):
        with pytest.raises(LogError) as info:
            log = read_log(path, verify=verify, defer_record_checks=defer)
            for _ in log.iter_chunks(read_ahead=read_ahead):
                pass
        message = str(info.value)
        assert message.startswith(path + ": ") and where in message and what in message, (verify, defer, message)


@pytest.mark.parametrize("make", BAD_LOGS, ids=[m.__name__ for m in BAD_LOGS])
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_exits_2_naming_what_is_wrong(good, tmp_path, capsys, make, command):
    path, where, what = make(good, tmp_path / "bad")
    argv = [arg.format(log=path, good=good, tmp=tmp_path) for arg in command]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, err)
    assert err.startswith(f"z6: {path}: ") and where in err and what in err and err.count("\n") == 1, err
    assert "Traceback" not in err and not list(tmp_path.glob("out.csv*")) and not list(tmp_path.glob("report*")) \
        and not list(tmp_path.glob("summary*"))


def test_a_log_path_that_is_not_a_regular_file_exits_2(tmp_path, capsys):
    import os

    fifo = tmp_path / "events.z6log"
    os.mkfifo(fifo)  # opening it would wait for a writer forever
    for argv, name in ((["analyze", str(fifo)], "a FIFO"), (["report", "/dev/zero", "-o", str(tmp_path / "r.html")],
                                                           "a character device")):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err == f"z6: {argv[1]}: cannot read event log: must be a regular file (or a run " \
                                    f"directory), got {name}\n", err
