"""The quality scorer of benchmarks/bench_quality.py must rank images the way the eye does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from nst_helpers import bundled_image, load_image
from nst_helpers.quality import score, speckle

SHARED = Path(__file__).resolve().parents[2] / "shared"
PUBLISHED = SHARED / "data" / "ref" / "tubingen_starry_jcjohnson.png"
SIZE = 128  # small: the ranking, not the exact figures, is under test


@pytest.fixture(scope="module")
def pair():
    return load_image(bundled_image("tubingen"), SIZE), load_image(bundled_image("starry_night", "style"))


def test_photo_and_painting_are_the_two_ends(pair):
    C, S = pair
    photo, painting = score(C, S, C, S, size=SIZE)
    assert photo.style_ratio == pytest.approx(1.0, rel=1e-4), "the photo is by definition at style ratio 1"
    assert photo.content == pytest.approx(0.0, abs=1e-3), "the photo has no content loss against itself"
    assert painting.style_ratio < 0.1, f"the painting should be close to its own statistics: {painting}"
    assert painting.content > 10 * max(photo.content, 1.0)


def test_speckle_sees_colour_noise_not_brightness_noise(pair):
    C, _ = pair
    g = torch.Generator().manual_seed(0)
    noise = 0.08 * torch.randn(C.shape, generator=g)
    gray_noise = noise[:, :1].expand_as(C)
    coloured, bright = (C + noise).clamp(0, 1), (C + gray_noise).clamp(0, 1)
    assert speckle(coloured) > 2 * speckle(C), "independent noise per channel is coloured speckle"
    assert speckle(bright) < speckle(C), "noise in brightness only adds luma detail, not speckle"
    assert speckle(C.mean(1, keepdim=True).expand_as(C)) < 1e-3, "a grey image has no chroma at all"


@pytest.mark.skipif(not PUBLISHED.exists(), reason=f"the published reference render is not at {PUBLISHED}")
def test_published_render_scores_between_photo_and_painting(pair):
    C, S = pair
    ref = score(C, S, PUBLISHED, size=SIZE)
    assert 0.01 < ref.style_ratio < 0.5, ref
    assert ref.content > 0


@pytest.mark.skipif(not (SHARED / "tools" / "nstscore.py").exists(), reason="../shared/tools/nstscore.py is absent")
@pytest.mark.skipif(not PUBLISHED.exists(), reason=f"the published reference render is not at {PUBLISHED}")
def test_agrees_with_the_reference_scorer():
    spec = importlib.util.spec_from_file_location("nstscore", SHARED / "tools" / "nstscore.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    data = SHARED / "data"
    theirs = ref.scores(str(data / "tubingen.jpg"), str(data / "starry_night.jpg"), [str(PUBLISHED)])[0]
    ours = score(data / "tubingen.jpg", data / "starry_night.jpg", PUBLISHED)
    assert ours.style_ratio == pytest.approx(theirs["style_ratio"], rel=0.05)
    assert ours.content == pytest.approx(theirs["content"], rel=0.05)
    assert ours.speckle == pytest.approx(theirs["speckle"], rel=0.05)
