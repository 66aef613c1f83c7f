"""Precomputed lecture runs: stored by a tool that executes the notebook live, loaded in class."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import load_tool, smooth_image

from nst_helpers.errors import ParameterError
from nst_helpers.history import History
from nst_helpers.precomputed import RESULTS_DIR, load_results, precomputed, save_results

ROOT = Path(__file__).resolve().parents[1]


def fake_run(key):
    image = smooth_image(12, 16, seed=key)
    history = History(total=[3.0, 2.0, 1.5], content=[0.0, 0.5, 0.5], style=[3.0, 1.5, 1.0],
                      layers={"style_relu1_1": [1.0, 0.5, 0.2]}, snapshots=[(0, image), (3, image)],
                      best_step=3, best_loss=1.5, stopped=None, seconds=0.25, settings={"init": torch.zeros(2)})
    return image, history, {"rmse": 0.1 * key}


def test_round_trip_keeps_images_histories_and_numbers(tmp_path):
    results = {k: fake_run(k) for k in (1, 2)}
    save_results(tmp_path / "04_x.npz", results, {"size": 16}, seconds=12.5)
    loaded, seconds = load_results(tmp_path / "04_x.npz", [1, 2], {"size": 16}, with_seconds=True)
    assert seconds == 12.5
    for key in (1, 2):
        image, history, numbers = loaded[key]
        torch.testing.assert_close(image, results[key][0], atol=1 / 255, rtol=0)   # stored as 8-bit PNG
        assert history.total == [3.0, 2.0, 1.5] and history.best_step == 3
        assert history.snapshots[1][0] == 3 and history.snapshots[1][1].shape == (1, 3, 12, 16)
        assert history.settings["init"] == "tensor of shape (2,)"
        assert numbers == {"rmse": 0.1 * key}


def test_other_settings_or_keys_are_refused_with_the_way_to_remake(tmp_path):
    save_results(tmp_path / "04_x.npz", {1: fake_run(1)}, {"size": 16})
    with pytest.raises(ParameterError, match="settings.*make_lecture_results"):
        load_results(tmp_path / "04_x.npz", [1], {"size": 32})
    with pytest.raises(ParameterError, match=r"holds the runs \[1\].*asks for \[1, 2\]"):
        load_results(tmp_path / "04_x.npz", [1, 2], {"size": 16})
    with pytest.raises(ParameterError, match="missing.*NST_LIVE=1"):
        precomputed("04_nothing", [1], fake_run, live=False, folder=tmp_path)


def test_live_runs_every_key_and_stores_only_when_the_tool_asks(tmp_path, monkeypatch):
    calls = []
    monkeypatch.delenv("NST_RESULTS_OUT", raising=False)
    precomputed("04_x", [1, 2], lambda k: calls.append(k) or k * 2, live=True, folder=tmp_path)
    assert calls == [1, 2] and not list(tmp_path.iterdir())
    monkeypatch.setenv("NST_RESULTS_OUT", str(tmp_path))
    out = precomputed("04_x", [1, 2], lambda k: k * 2, live=True, settings={"n": 1})
    assert out == {1: 2, 2: 4}
    assert precomputed("04_x", [1, 2], None, live=False, settings={"n": 1}, folder=tmp_path) == {1: 2, 2: 4}


def test_unstorable_results_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="cannot store a object"):
        save_results(tmp_path / "04_x.npz", {1: object()}, {})


def test_tool_executes_the_notebook_live_and_refuses_to_overwrite(tmp_path, monkeypatch):
    tool = load_tool("make_lecture_results")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from nst_helpers.precomputed import live_mode, precomputed\n"
        "res = precomputed('07_squares', [1, 2, 3], lambda k: k * k, live=live_mode(), settings={'p': 2})\n"
        "assert res == {1: 1, 2: 4, 3: 9}")]
    notebook = tmp_path / "07_demo.ipynb"
    nbformat.write(nb, notebook)
    before = notebook.read_bytes()
    folder = tmp_path / "results"
    for var in ("NST_LIVE", "NST_RESULTS_OUT", "NST_QUICK"):
        monkeypatch.delenv(var, raising=False)
    moved = tool.make(notebook, folder)
    assert [p.name for p in moved] == ["07_squares.npz"]
    assert notebook.read_bytes() == before                      # the lecture itself is not touched
    assert load_results(folder / "07_squares.npz", [1, 2, 3], {"p": 2}) == {1: 1, 2: 4, 3: 9}
    assert tool.existing(notebook, folder) == moved
    # the command line refuses before running anything when results of this lecture exist
    monkeypatch.setattr(tool, "RESULTS", folder)
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as exc:
        tool.main([str(notebook)])
    assert exc.value.code == 2


def test_committed_results_belong_to_a_lecture_and_are_small():
    lectures = {p.name.split("_", 1)[0] for p in (ROOT / "notebooks").glob("*.ipynb")}
    for path in RESULTS_DIR.glob("*.npz"):
        assert path.name.split("_", 1)[0] in lectures, f"{path.name} belongs to no lecture"
        assert path.stat().st_size < 3 * 2**20, f"{path.name} is over 3 MB"
        with __import__("numpy").load(path) as arrays:
            json.loads(arrays["meta"].tobytes())
