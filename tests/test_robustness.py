"""Hardening: hostile files, huge and tiny images, faults during a run, output safety, security, fuzzing."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import nst_helpers.images as images_mod
import nst_helpers.transfer as transfer
from nst_helpers import (
    ImageLoadError,
    ImageTooSmallError,
    ResourceError,
    WeightsError,
    load_image,
    load_vgg19,
    run_style_transfer,
    save_image,
)


def test_image_over_pillows_pixel_limit_is_refused_clearly(tmp_path, monkeypatch):
    p = tmp_path / "huge.png"
    Image.new("RGB", (300, 300)).save(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 300*300 = 9x the limit: a "bomb"
    with pytest.raises(ImageLoadError, match="too large to decode safely") as info:
        load_image(p)
    assert "huge.png" in str(info.value) and "MAX_IMAGE_PIXELS" in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60_000)  # 1x..2x the limit: Pillow only warns; we refuse
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(p)


def test_large_jpeg_is_decoded_reduced_when_a_size_is_given(tmp_path):
    p = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1600, 2400, 3), dtype=np.uint8)).save(p)
    t = load_image(p, size=200)
    assert tuple(t.shape[-2:]) == (133, 200)


def test_very_long_side_without_size_asks_for_size():
    with pytest.raises(ImageLoadError, match="size="):
        load_image(np.zeros((10, images_mod.MAX_SIDE + 1), dtype=np.uint8))


def test_extreme_aspect_ratio_loads_and_is_refused_by_the_model_with_minimum(tmp_path):
    p = tmp_path / "banner.png"
    Image.new("RGB", (4000, 40), (10, 200, 30)).save(p)
    t = load_image(p, size=512)
    assert tuple(t.shape[-2:]) == (5, 512)
    with pytest.raises(ImageTooSmallError, match="at least 32 pixels") as info:
        run_style_transfer(t, t, steps=1, progress=False)
    assert "relu5_1" in str(info.value)
    # shallow layers accept it: the minimum follows the chosen layers
    G, h = run_style_transfer(t, t, steps=1, progress=False, content_layers=["relu1_2"], style_layers=["relu1_1"])
    assert h.steps == 1


def test_tiny_image_names_minimum_size():
    with pytest.raises(ImageTooSmallError, match="short side is at least 32"):
        run_style_transfer(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 64, 64), steps=1, progress=False)


def test_out_of_memory_suggests_a_smaller_size(monkeypatch, content64, style64):
    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transfer, "build_model", oom)
    with pytest.raises(ResourceError, match="smaller size"):
        run_style_transfer(content64, style64, steps=1, progress=False)


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "result.png"

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.rand(1, 3, 4, 4), target)
    assert list(tmp_path.iterdir()) == [], "neither the target nor a temporary file may remain"


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "result.png"
    save_image(torch.zeros(1, 3, 4, 4), target)
    before = target.read_bytes()
    monkeypatch.setattr(Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        save_image(torch.ones(1, 3, 4, 4), target, overwrite=True)
    assert target.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


class _Evil:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_weight_files_are_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        torch.save({"0.weight": _Evil()}, fh)
    with pytest.raises(WeightsError, match="not a loadable"):
        load_vgg19(path)
    assert not (tmp_path / "PWNED").exists(), "loading weights must not run code from the file"


# ----------------------------------------------------------------------------- fuzzing
def _assert_valid_or_documented_error(src) -> None:
    try:
        t = load_image(src)
    except ImageLoadError:
        return
    assert isinstance(t, torch.Tensor) and t.ndim == 4 and t.shape[:2] == (1, 3)
    assert t.dtype == torch.float32 and torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=3000), prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff",
                                                                          b"GIF89a", b"BM", b"RIFF"]))
def test_fuzz_random_bytes(tmp_path, data, prefix):
    p = tmp_path / "fuzz.img"
    p.write_bytes(prefix + data)
    _assert_valid_or_documented_error(p)


MODES = ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LA", "I", "I;16", "F", "HSV", "LAB"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(MODES), w=st.integers(1, 40), h=st.integers(1, 40), seed=st.integers(0, 2**16),
       fmt=st.sampled_from(["PNG", "TIFF", "BMP", "GIF", "JPEG", "WEBP", None]))
def test_fuzz_valid_images_of_random_modes_and_sizes(tmp_path, mode, w, h, seed, fmt):
    rgb = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = rgb.convert(mode)
    if fmt is None:
        _assert_valid_or_documented_error(img)
        return
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):
        return  # this format cannot store this mode: nothing to load
    p = tmp_path / f"img.{fmt.lower()}"
    p.write_bytes(buf.getvalue())
    stored = Image.open(p)  # a format without float pixels (GIF, PNG, ...) stores another mode
    if stored.mode == "F" and np.asarray(stored).max() > 1:  # float32 by the dtype rule: 0..255 floats are refused
        with pytest.raises(ImageLoadError, match="Divide by 255"):
            load_image(p)
        return
    t = load_image(p)  # a valid image file of any mode must load
    assert t.shape[:2] == (1, 3) and tuple(t.shape[-2:]) == (h, w)
    assert 0 <= t.min() and t.max() <= 1
