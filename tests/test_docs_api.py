"""docs/api.md's examples: every ```python block passes `mypy --strict`, and the
ones that need no server or framework run (docs/api.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks() -> list[str]:
    found = BLOCK.findall(API_DOC.read_text(encoding="utf-8"))
    assert len(found) >= 6, "docs/api.md lost its examples"
    return found


def test_the_examples_pass_mypy_strict(tmp_path):
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install '.[test]')")
    pytest.importorskip("starlette", reason="starlette is in the test extra (pip install '.[test]')")
    paths = []
    for i, block in enumerate(blocks()):
        path = tmp_path / f"api_example_{i}.py"
        path.write_text(block, encoding="utf-8")
        paths.append(str(path))
    # z6 is read for its types (its .pyi stubs and annotations) but judged by its own
    # tests: only the examples' errors count here.
    env = {**os.environ, "MYPYPATH": os.pathsep.join(p for p in sys.path if p.endswith(("/python", "/src")))}
    check = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                            "--no-incremental", "--cache-dir", str(tmp_path / "cache"), *paths],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr


def test_mypy_strict_catches_a_wrong_example(tmp_path):
    # The check above can fail: a misuse of the API is an error under the same flags.
    pytest.importorskip("mypy", reason="mypy is in the test extra (pip install '.[test]')")
    path = tmp_path / "wrong.py"
    path.write_text('import z6\nrun = z6.start("s.toml", mode="fast")\nn: int = run.stats().rate\n')
    check = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                            "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)],
                           capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 1
    assert 'Argument "mode" to "start" has incompatible type' in check.stdout
    assert "Incompatible types in assignment" in check.stdout


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_the_runnable_examples_run(index, tmp_path):
    # The first, Problem, chunks, to_pandas and asyncio examples need no server: they run from the repository.
    block = blocks()[index]
    assert "starlette" not in block and "def test_" not in block
    run = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
