"""pytest configuration for the z6 benchmarks (not part of the normal test run:
pyproject's testpaths is `tests`). See benchmarks/README.md.

Each benchmark records its z6 figures with the `z6_figures` fixture; they are
printed as one table at the end of the session (pytest-benchmark's own table has
the raw timings, and `--benchmark-json` keeps both, the figures in `extra_info`).
"""

from __future__ import annotations

import pytest

from _z6bench import ensure_importable

ensure_importable()

_ROWS: list[tuple[str, dict]] = []


@pytest.fixture
def z6_figures(request, benchmark):
    """Call with a dict of figures; they go to benchmark.extra_info and the summary table."""

    def record(figures: dict) -> None:
        benchmark.extra_info.update(figures)
        _ROWS.append((request.node.name, figures))

    return record


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 1e5:
            return f"{value:.3g}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _core_build() -> str:
    import z6core

    debug = getattr(z6core, "DEBUG_BUILD", None)
    kind = {True: "DEBUG build (Z6_DEBUG=1): figures are not representative",
            False: "release build", None: "build type unknown"}[debug]
    return f"z6core from {z6core.__file__}: {kind}"


def pytest_report_header(config):
    return _core_build()


def pytest_terminal_summary(terminalreporter):
    if not _ROWS:
        return
    tr = terminalreporter
    tr.write_sep("=", "z6 figures (timings in seconds; no pass/fail on speed)")
    tr.write_line(_core_build())
    for name, figures in _ROWS:
        tr.write_line(name)
        tr.write_line("    " + "  ".join(f"{k}={_fmt(v)}" for k, v in figures.items()))
