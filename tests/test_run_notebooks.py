"""tools/run_notebooks.py keeps each cell's timing, so a committed notebook shows what every cell costs."""

from __future__ import annotations

from pathlib import Path

import nbformat
from conftest import load_tool

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_tool("run_notebooks")


def test_a_run_keeps_the_timing_of_each_cell(tmp_path):
    tool = _tool()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("import time; time.sleep(0.3)"),
                nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    passed, seconds = tool.run_notebook(path, timeout=120)
    assert passed and seconds > 0.3
    done = nbformat.read(path, as_version=4)
    times = [tool.cell_seconds(c) for c in done.cells[1:]]
    assert all(t is not None for t in times) and times[0] >= 0.3 > times[1]
    assert tool.slowest_cell(done)[0] == 1
    assert done.cells[2].outputs[0]["data"]["text/plain"] == "2"
