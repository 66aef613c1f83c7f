"""Beyond the 2016 paper: each extension has a measurable effect."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import nst_helpers.transfer as transfer
from nst_helpers import build_model, load_image, run_style_transfer, tv_loss
from nst_helpers.color import combine_luminance, luminance, match_color, rgb_to_yiq, yiq_to_rgb
from nst_helpers.images import bundled_image

RUN = dict(progress=False, steps=25)


@pytest.fixture(scope="module")
def C():
    return load_image(bundled_image("coffee"), 64)


@pytest.fixture(scope="module")
def S():
    return load_image(bundled_image("swirls", "style"), 64)


@pytest.fixture(scope="module")
def plain(C, S):
    """The plain transfer every extension is compared with (computed once)."""
    return run_style_transfer(C, S, **RUN)[0]


def _chroma(img: torch.Tensor) -> torch.Tensor:
    return rgb_to_yiq(img)[:, 1:]


def test_yiq_round_trip_and_luminance():
    x = torch.rand(1, 3, 5, 6)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5, rtol=1e-5)
    y = luminance(x)
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2]), "luminance is a gray image"
    torch.testing.assert_close(combine_luminance(luminance(x), x), x, atol=1e-5, rtol=1e-5)


def test_match_color_gives_content_mean_and_covariance(C, S):
    out = match_color(S, C, clip=False)
    o, c = out[0].reshape(3, -1), C[0].reshape(3, -1)
    torch.testing.assert_close(o.mean(1), c.mean(1), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(o), torch.cov(c), atol=1e-4, rtol=1e-3)
    clipped = match_color(S, C)
    assert clipped.shape == S.shape and 0 <= clipped.min() and clipped.max() <= 1
    torch.testing.assert_close(clipped[0].reshape(3, -1).mean(1), c.mean(1), atol=0.05, rtol=0)


def test_luminance_transfer_keeps_content_chroma(C, S, plain):
    kept, h = run_style_transfer(C, S, preserve_color="luminance", **RUN)
    d_plain = (_chroma(plain) - _chroma(C)).abs().mean()
    d_kept = (_chroma(kept) - _chroma(C)).abs().mean()
    assert d_kept < 0.25 * d_plain, f"chroma change {d_kept:.4f} should be far below plain {d_plain:.4f}"
    assert (rgb_to_yiq(kept)[:, 0] - rgb_to_yiq(C)[:, 0]).abs().mean() > 0.02, "the luminance is stylised"
    assert h.settings["preserve_color"] == "luminance"


def test_color_matching_brings_colours_closer_to_content(C, S, plain):
    matched, _ = run_style_transfer(C, S, preserve_color="match", **RUN)
    mean_c = C.mean(dim=(2, 3))
    assert (matched.mean(dim=(2, 3)) - mean_c).abs().sum() < (plain.mean(dim=(2, 3)) - mean_c).abs().sum()


def test_several_styles_blend(C, S):
    other = load_image(bundled_image("mosaic", "style"), 64)
    single, _ = run_style_transfer(C, S, **{**RUN, "steps": 6})
    blended_10, _ = run_style_transfer(C, [S, other], style_blend=[1, 0], **{**RUN, "steps": 6})
    torch.testing.assert_close(blended_10, single, msg="blend weights (1, 0) must equal the first style alone")
    mixed, _ = run_style_transfer(C, [S, other], style_blend=[1, 1], **{**RUN, "steps": 6})
    assert (mixed - single).abs().mean() > 1e-3


def test_average_pooling_option(C, S):
    model, _, _ = build_model(C, S, pooling="avg")
    assert any(isinstance(m, nn.AvgPool2d) for m in model) and not any(isinstance(m, nn.MaxPool2d) for m in model)
    g_max, _ = run_style_transfer(C, S, **{**RUN, "steps": 6})
    g_avg, _ = run_style_transfer(C, S, pooling="avg", **{**RUN, "steps": 6})
    assert (g_max - g_avg).abs().mean() > 1e-3


def test_mask_keeps_unmasked_region_close_to_content(C, S):
    h, w = C.shape[-2:]
    mask = torch.zeros(1, 1, h, w)
    mask[..., : w // 2] = 1.0  # style on the left half only
    G, _ = run_style_transfer(C, S, style_masks=[mask], **RUN)
    left = (G - C)[..., : w // 2 - 4].abs().mean()
    right = (G - C)[..., w // 2 + 4:].abs().mean()
    assert right < 0.5 * left, f"masked-out half changed {right:.4f}, styled half {left:.4f}"


def test_bad_mask_is_rejected(C, S):
    with pytest.raises(ValueError, match="1 x 1 x H x W"):
        run_style_transfer(C, S, style_masks=[torch.ones(1, 3, 8, 8)], **RUN)


def test_total_variation_smooths(C, S, plain):
    smooth, h = run_style_transfer(C, S, tv_weight=1e8, **RUN)
    assert tv_loss(smooth) < 0.8 * tv_loss(plain)


def test_style_scale_resizes_the_style(monkeypatch, C, S):
    seen = []
    real = transfer.build_model
    monkeypatch.setattr(transfer, "build_model", lambda c, s, **kw: (seen.append(s[0].shape), real(c, s, **kw))[1])
    g1, _ = run_style_transfer(C, S, style_scale=1.0, **{**RUN, "steps": 4})
    g2, _ = run_style_transfer(C, S, style_scale=2.0, **{**RUN, "steps": 4})
    assert seen[1][-1] == pytest.approx(2 * seen[0][-1], abs=1)
    assert (g1 - g2).abs().mean() > 1e-3


def test_coarse_to_fine_schedule(C, S):
    calls = []
    G, h = run_style_transfer(C, S, scales=(48, 64), steps=13, every=4, progress=False, optimizer="adam",
                              callback=lambda step, g, hist: calls.append((step, tuple(g.shape[-2:]))))
    assert h.steps == 13 and max(G.shape[-2:]) == 64
    assert calls[0] == (4, (32, 48)) and calls[-1] == (13, (43, 64)), calls
    G, h = run_style_transfer(C, S, scales=(48, 64), steps=13, every=4, progress=False)
    assert h.steps == 13 and max(G.shape[-2:]) == 64
    with pytest.raises(ValueError, match="increasing"):
        run_style_transfer(C, S, scales=(64, 48), progress=False)
