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


def test_a_run_states_its_time_normalises_metadata_and_replaces_widgets(tmp_path):
    tool = _tool()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\n**Run time:** about a minute,\nprobably.\n\n**Builds on:** 00"),
                nbformat.v4.new_code_cell("import time, ipywidgets; time.sleep(0.2)\nipywidgets.IntSlider(3)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    assert tool.run_notebook(path, timeout=120)[0]
    done = nbformat.read(path, as_version=4)
    assert done.metadata["kernelspec"] == tool.KERNELSPEC and "widgets" not in done.metadata
    assert done.metadata["rise"]["theme"] == "white"
    outputs = done.cells[1].outputs
    assert [o["data"] for o in outputs if "data" in o] == [{"text/plain": tool.WIDGET_NOTE}]
    header = done.cells[0].source
    timing = done.metadata["nst"]["run_time"]
    assert timing["full_s"] >= 0.2 and timing["slowest_cell_s"] >= 0.2
    assert "about a minute" not in header and "probably" not in header and "**Builds on:** 00" in header
    assert tool.run_time_line(timing) in header and "not measured" in header
    # a quick-mode measurement runs on a copy: outputs stay, only the time is added
    assert tool.run_notebook(path, timeout=120, quick_copy=True)[0]
    again = nbformat.read(path, as_version=4)
    assert again.cells[1].outputs == outputs and again.metadata["nst"]["run_time"]["full_s"] == timing["full_s"]
    assert "quick_s" in again.metadata["nst"]["run_time"] and "not measured" not in again.cells[0].source


def test_the_kernelspec_is_what_make_install_registers():
    """Opening a lecture must not change it: its kernelspec must be the one the Makefile installs."""
    tool = _tool()
    makefile = (ROOT / "Makefile").read_text()
    assert f"--name {tool.KERNELSPEC['name']}" in makefile and "--display-name" not in makefile, (
        "the Makefile must register ipykernel's own kernelspec (name python3, display name 'Python 3 (ipykernel)')")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "homework").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found = nb.metadata.get("kernelspec")
        assert found == tool.KERNELSPEC, f"{path.name}: kernelspec {found}"


def test_committed_lectures_hold_no_live_widget_references():
    tool = _tool()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                assert tool.WIDGET_MIME not in data, f"{path.name} cell {i}: a widget view (shows 'model not found')"
                assert not str(data.get("text/plain", "")).startswith(("interactive(", "VBox(", "HBox(")), (
                    f"{path.name} cell {i}: the raw text of a widget")
