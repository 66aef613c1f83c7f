"""The procedural paintings that serve as bundled style images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("artwork", Path(__file__).resolve().parents[1] / "tools" / "artwork.py")
artwork = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(artwork)  # the painting generator is a build tool, not part of the package


@pytest.mark.parametrize("name", sorted(artwork.STYLES))
def test_each_style_is_deterministic_textured_and_colourful(name):
    a = np.asarray(artwork.generate(name, (96, 72), seed=1), dtype=np.float32) / 255
    b = np.asarray(artwork.generate(name, (96, 72), seed=1), dtype=np.float32) / 255
    c = np.asarray(artwork.generate(name, (96, 72), seed=2), dtype=np.float32) / 255
    assert a.shape == (72, 96, 3)
    assert np.array_equal(a, b), "the same seed must give the same picture"
    assert not np.array_equal(a, c), "another seed must give another picture"
    gradient = np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean()
    assert gradient > 0.03, f"{name} is too flat to be an obvious style (mean gradient {gradient:.3f})"
    chroma = (a.max(axis=2) - a.min(axis=2)).mean()
    assert chroma > 0.1 or name == "waves", f"{name} is not colourful enough (mean chroma {chroma:.3f})"


def test_unknown_style_lists_the_valid_ones():
    with pytest.raises(ValueError, match="swirls"):
        artwork.generate("monet")


def test_write_all_never_overwrites(tmp_path):
    paths = artwork.write_all(tmp_path, size=(64, 48))
    assert {p.stem for p in paths} == set(artwork.STYLES)
    before = paths[0].read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        artwork.write_all(tmp_path, size=(64, 48), seed=5)
    assert paths[0].read_bytes() == before
