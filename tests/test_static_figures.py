"""The static stand-ins of the explorer (tools/make_static_figures.py): made by the package, committed, shown."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import load_tool
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "images" / "results"
NAMES = ("beta_grid.jpg", "init_comparison.jpg")


def _script():
    return load_tool("make_static_figures")


def test_script_writes_both_figures_and_refuses_to_overwrite(tmp_path):
    script = _script()
    assert script.main(["--size", "64", "--steps", "2", "--out", str(tmp_path)]) == 0
    for name in NAMES:
        path = tmp_path / name
        assert path.exists(), f"make_static_figures.py did not write {name}"
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.width > im.height, (
                f"{name}: expected a wide JPEG strip, got {im.format} {im.size}")
    before = (tmp_path / NAMES[0]).read_bytes()
    with pytest.raises(SystemExit, match="--force"):
        script.main(["--size", "64", "--steps", "2", "--out", str(tmp_path)])
    assert (tmp_path / NAMES[0]).read_bytes() == before, "an existing figure was changed without --force"


@pytest.mark.parametrize("name", NAMES)
def test_committed_figures_are_small_jpegs(name):
    path = RESULTS / name
    assert path.exists(), f"{path} is missing: run `python tools/make_static_figures.py` and commit the result"
    assert path.stat().st_size < 400_000, f"{name} is {path.stat().st_size // 1024} KB; keep it under 400 KB"
    with Image.open(path) as im:
        assert im.format == "JPEG"


def test_notebook_05_shows_the_static_figures_beside_the_explorer():
    nb = nbformat.read(ROOT / "notebooks" / "05_alpha_beta.ipynb", as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    explorer_at = next((i for i, s in enumerate(sources) if "explorer(" in s), None)
    static_at = next((i for i, s in enumerate(sources) if all(n in s for n in NAMES)), None)
    assert explorer_at is not None, "notebook 05 no longer opens the explorer"
    assert static_at is not None, "notebook 05 does not show beta_grid.jpg and init_comparison.jpg"
    assert abs(static_at - explorer_at) <= 3, "the static figures should sit right beside the live explorer"
    outputs = nb.cells[[i for i, c in enumerate(nb.cells) if c.cell_type == "code"][static_at]].outputs
    assert sum("image/jpeg" in o.get("data", {}) for o in outputs) == 2, (
        "the static-figure cell of notebook 05 should carry both pictures as outputs (re-run the notebook)")
