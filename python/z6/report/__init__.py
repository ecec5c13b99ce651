"""Reports of a run: the versioned summary document (summary.json), the HTML page and
the terminal text (the run's summary, and the analyses' text, CSV and JSON forms).

    doc = z6.report.summary_document(result)          # from z6.run_scenario
    doc = z6.report.document_from_log(z6.log.read_log(path))  # = summary_document(z6.analysis.recompute_run(log))
    z6.report.write_json("summary.json", doc)
    z6.report.write_html("report.html", doc)

docs/output.md describes the document; ``SCHEMA_PATH`` is its JSON Schema.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Mapping

from z6.report._atomic import write_text_atomic
from z6.report._document import SCHEMA_VERSION, build_document, document_from_log, run_header, summary_document
from z6.report._html import embed_json, render_html, write_html
from z6.report._text import render_run

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_PATH",
    "summary_document",
    "document_from_log",
    "build_document",
    "run_header",
    "render_json",
    "write_json",
    "render_html",
    "write_html",
    "embed_json",
    "load_schema",
    "render_run",
]

SCHEMA_PATH = pathlib.Path(__file__).with_name("summary.schema.json")


def render_json(data: Mapping[str, Any]) -> str:
    """The document as JSON text (strict: no NaN or infinity)."""
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write ``summary.json`` atomically."""
    write_text_atomic(path, render_json(data))


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the summary document (version `SCHEMA_VERSION`)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
