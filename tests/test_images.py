"""Loading, converting and saving images, and the clear errors for bad files."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from nst_helpers import ImageLoadError, ParameterError, bundled_images, load_image, save_image


def _check(t: torch.Tensor, hw: tuple[int, int] | None = None) -> None:
    assert t.ndim == 4 and t.shape[:2] == (1, 3), f"expected 1 x 3 x H x W, got {tuple(t.shape)}"
    assert t.dtype == torch.float32 and 0.0 <= t.min() and t.max() <= 1.0
    if hw:
        assert tuple(t.shape[-2:]) == hw


def test_load_path_resizes_long_side_and_keeps_aspect(tmp_path):
    p = tmp_path / "a.png"
    Image.new("RGB", (200, 100), (255, 0, 0)).save(p)
    t = load_image(p, size=64)
    _check(t, (32, 64))
    assert t[0, 0].mean() > 0.99 and t[0, 1].max() < 0.01, "red must stay red (RGB order)"
    _check(load_image(str(p)), (100, 200))


def test_load_pil_array_and_tensor_sources():
    arr = np.zeros((10, 20, 3), dtype=np.uint8)
    arr[..., 2] = 255
    _check(load_image(arr), (10, 20))
    _check(load_image(Image.fromarray(arr)), (10, 20))
    _check(load_image(torch.rand(3, 8, 9)), (8, 9))
    _check(load_image(np.random.rand(6, 7).astype(np.float32)), (6, 7))
    with pytest.raises(ImageLoadError, match=r"values in \[0, 1\]"):
        load_image(np.full((4, 4, 3), 200.0))
    with pytest.raises(ImageLoadError, match="shape"):
        load_image(np.zeros((5, 5, 5)))
    with pytest.raises(ImageLoadError, match="NaN"):
        load_image(np.full((4, 4, 3), np.nan, dtype=np.float32))


@pytest.mark.parametrize("mode", ["L", "1", "P", "CMYK", "LA", "RGBA", "I;16", "I", "F", "YCbCr"])
def test_image_modes_become_rgb(tmp_path, mode):
    img = Image.new("RGB", (16, 12), (200, 100, 50)).convert(mode)
    if mode == "F":  # float32 by the dtype rule: values in [0, 1] (Pillow's conversion keeps 0..255)
        with pytest.raises(ImageLoadError, match="Divide by 255"):
            load_image(img)
        img = Image.fromarray(np.asarray(img) / 255)
    _check(load_image(img), (12, 16))


def test_rgba_transparent_pixels_become_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    t = load_image(img)
    torch.testing.assert_close(t, torch.ones(1, 3, 4, 4), msg="transparent pixels are composited onto white")


def test_16bit_keeps_tonal_range(tmp_path):
    ramp = (np.arange(64 * 4, dtype=np.uint32) * 256).reshape(4, 64).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(ramp).save(p)
    t = load_image(p)
    values = torch.unique(t[0, 0])
    assert len(values) == 64 * 4, "a 16-bit ramp must keep all its levels, not collapse to 8 bits"
    assert t.max() == pytest.approx(ramp.max() / 65535, abs=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (30, 10), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    p = tmp_path / "phone.jpg"
    img.save(p, exif=exif.tobytes())
    _check(load_image(p), (30, 10))


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    t = load_image(p)
    assert t[0, 0].mean() > 0.9 and t[0, 1].mean() < 0.1, "the first frame (red) is used"


@pytest.mark.parametrize(
    "name, content, pattern",
    [
        ("missing.jpg", None, "does not exist"),
        ("empty.jpg", b"", "empty"),
        ("random.jpg", os.urandom(2000), "not an image"),
        ("notes.jpg", b"These are my lecture notes, not a picture.\n" * 20, "not an image"),
    ],
)
def test_bad_files_give_clear_errors_naming_the_file(tmp_path, name, content, pattern):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ImageLoadError, match=pattern) as info:
        load_image(p)
    assert name in str(info.value), "the error must name the file"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files(tmp_path, fmt):
    p = tmp_path / f"cut.{fmt.lower()}"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(p, format=fmt)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="cut"):
        load_image(p)


def test_directory_and_bad_size(tmp_path):
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(ParameterError, match="positive"):
        load_image(np.zeros((4, 4, 3), np.uint8), size=0)
    with pytest.raises(ParameterError, match="positive"):
        load_image(np.zeros((4, 4, 3), np.uint8), size=-5)


def test_save_refuses_to_overwrite_and_writes_atomically(tmp_path):
    img = torch.rand(1, 3, 8, 8)
    p = save_image(img, tmp_path / "g.png")
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_image(torch.zeros(1, 3, 8, 8), p)
    assert p.read_bytes() == before, "the existing file must be untouched"
    save_image(torch.zeros(1, 3, 8, 8), p, overwrite=True)
    assert p.read_bytes() != before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["g.png"], "no temporary file may be left behind"
    torch.testing.assert_close(load_image(p), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ParameterError, match="suffix"):
        save_image(img, tmp_path / "g.xyz")


def test_save_round_trip_is_exact_for_8bit_values(tmp_path):
    img = torch.randint(0, 256, (1, 3, 5, 6)).float() / 255
    torch.testing.assert_close(load_image(save_image(img, tmp_path / "x.png")), img)


def test_bundled_images_exist_and_are_small():
    content, style = bundled_images("content"), bundled_images("style")
    assert len(content) >= 3 and len(style) >= 4
    for path in [*content.values(), *style.values()]:
        assert path.stat().st_size < 300_000, f"{path.name} is over 300 KB"
        _check(load_image(path, size=32))


def test_the_papers_pair_is_bundled_and_credited():
    from nst_helpers import bundled_image
    from nst_helpers.images import IMAGES_DIR

    C, S = load_image(bundled_image("tubingen")), load_image(bundled_image("starry_night", "style"))
    assert max(C.shape[-2:]) >= 512 and max(S.shape[-2:]) >= 512, "big enough for a 512 px render"
    credits = (IMAGES_DIR / "CREDITS.md").read_text(encoding="utf-8")
    assert "content/tubingen.jpg" in credits and "Andreas Praefcke" in credits and "CC BY 3.0" in credits
    assert "style/starry_night.jpg" in credits and "public domain" in credits.lower()
