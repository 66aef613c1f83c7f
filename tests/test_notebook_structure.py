"""The committed lecture notebooks: structure, outputs, size, slides, and nbval checks that compare something."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00", "01", "02", "03", "04", "05", "06", "07"]


def test_the_lecture_sequence_is_complete():
    found = [p.name for p in NOTEBOOKS]
    assert [name[:2] for name in found] == EXPECTED, f"expected notebooks {EXPECTED}, found {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_structure_and_outputs(path):
    nb = nbformat.read(path, as_version=4)
    size_mb = path.stat().st_size / 1e6
    assert size_mb < 3.0, f"{path.name} is {size_mb:.1f} MB; keep it under 3 MB (smaller figures)"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), \
        f"{path.name}: the first cell must be a markdown '# Title'"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^##+ Summary", markdown, re.M), f"{path.name} lacks a '## Summary' section"
    assert re.search(r"^##+ Exercises", markdown, re.M), f"{path.name} lacks a '## Exercises' section"
    assert re.search(r"goal", markdown, re.I), f"{path.name} should state its learning goals"
    # The Colab setup cell that tools/stamp_launch_links.py puts first (tests/test_launch.py checks it) is not
    # part of the lecture: it was stamped in after the committed run, without re-running the lecture, and does
    # nothing outside Colab. The rules below are about the lecture's own cells.
    code = [c for c in nb.cells if c.cell_type == "code" and "launch" not in c.metadata.get("nst", {})]
    assert code and "NST_QUICK" in code[0].source, f"{path.name}: the first code cell must read NST_QUICK"
    for c in code:
        for out in c.get("outputs", []):
            assert out.output_type != "error", f"{path.name} has an error output: {out.get('ename')}"
    executed = [c for c in code if c.get("execution_count")]
    assert len(executed) == len(code), f"{path.name}: commit it executed with outputs ({len(executed)}/{len(code)})"
    assert any(o.output_type == "display_data" and {"image/png", "image/jpeg"} & set(o.get("data", {}))
               for c in code for o in c.outputs), f"{path.name} should show at least one picture"
    plumbing = [c.source.splitlines()[0] for c in code if re.search(r"^\s*# NBVAL_", c.source, re.M)]
    assert not plumbing, (f"{path.name}: nbval markers written as comments show on slides and on the site: "
                          f"use the cell tag instead (e.g. 'nbval-check-output'); found in cells {plumbing}")
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    if path.name[:2] in ("00", "01", "02", "03"):
        assert checked, f"{path.name}: tag deterministic cells 'nbval-check-output' so nbval compares them"
    for c in checked:
        assert c.outputs, f"{path.name}: an nbval-check-output cell without stored output compares nothing"
    for c in nb.cells:
        assert "slideshow" in c.metadata, f"{path.name}: every cell needs slide metadata (lecture mode)"
