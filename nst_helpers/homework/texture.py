"""Exercise: texture synthesis, judged by the properties of the image (there is no single right answer)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as nnf
from torch import nn

from .. import losses as _ref
from ..model import Normalization, extract_features
from ..vgg import load_vgg19
from ._harness import _call, _fail, _passed

_TEXTURE = "check_texture"

#: The layers whose Gram matrices judge a texture. relu5_1 is left out: at 64 px its maps are 4 x 4 or
#: smaller, so its Gram matrix differs even between two shifted copies of the same image.
TEXTURE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: A texture passes if its style score (1 = as far from S as uniform noise, 0 = S's own statistics)
#: is below this value.
TEXTURE_MAX_SCORE = 0.35


@functools.lru_cache(maxsize=1)
def _texture_vgg() -> nn.Sequential:
    return load_vgg19("caffe", last_layer=TEXTURE_LAYERS[-1])


def _gram_distances(image: torch.Tensor, style: torch.Tensor, layers: Sequence[str]) -> dict[str, float]:
    vgg, norm = _texture_vgg(), Normalization("caffe")
    fi = extract_features(vgg, norm, image.detach().float().cpu(), layers)
    fs = extract_features(vgg, norm, style.detach().float().cpu(), layers)
    out = {}
    for n in layers:
        gi, gs = _ref.gram_matrix(fi[n]), _ref.gram_matrix(fs[n])
        out[n] = float(nnf.mse_loss(gi, gs) / gs.pow(2).mean().clamp_min(1e-30))
    return out


def texture_score(image: torch.Tensor, style: torch.Tensor,
                  layers: Sequence[str] = TEXTURE_LAYERS) -> tuple[float, dict[str, float]]:
    """How far the style statistics of ``image`` are from those of ``style``, relative to noise.

    For each layer, the mean squared difference of the two (VGG19, caffe
    weights) Gram matrices, divided by the same quantity for uniform noise of
    ``image``'s size (fixed seed). Returns ``(score, per_layer)``: ``score``
    is the mean over the layers; 0 means S's own statistics, 1 as far from S
    as noise. A texture synthesised by a few dozen L-BFGS steps scores about
    0.05-0.3, an unrelated photo 1.5 or more.
    """
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(0))
    d_img = _gram_distances(image, style, layers)
    d_noise = _gram_distances(noise, style, layers)
    per_layer = {n: d_img[n] / max(d_noise[n], 1e-30) for n in layers}
    return sum(per_layer.values()) / len(per_layer), per_layer


def _copy_of(T: torch.Tensor, S: torch.Tensor) -> str | None:
    """'a copy', 'a shifted copy' or 'a mirrored copy' of S if T is one (same shape), else None."""
    if T.shape != S.shape:
        return None
    if float((T - S).abs().mean()) < 0.03:
        return "a copy"
    t = T - T.mean(dim=(-2, -1), keepdim=True)
    for flips, what in (((), "a shifted copy"), ((-1,), "a mirrored copy"), ((-2,), "a mirrored copy"),
                        ((-2, -1), "a rotated copy")):
        s = S.flip(flips) if flips else S
        s = s - s.mean(dim=(-2, -1), keepdim=True)
        # circular cross-correlation of every shift at once, via the FFT
        corr = torch.fft.irfft2(torch.fft.rfft2(t) * torch.fft.rfft2(s).conj(), s=t.shape[-2:]).sum(1)
        norm = (t.pow(2).sum() * s.pow(2).sum()).sqrt().clamp_min(1e-12)
        if float(corr.max() / norm) > 0.9:
            return what
    return None


# --------------------------------------------------------------------------------------------- the sub-checks


def _check_image_tensor(T: object) -> None:
    if not isinstance(T, torch.Tensor):
        _fail(_TEXTURE, "the texture must be an image tensor.", expected="a 1 x 3 x H x W tensor in [0, 1]",
              found=type(T).__name__, hint="return G (the optimised image), e.g. G.detach()."
              if T is not None else "the function has no `return` statement.")


def _check_shape(T: torch.Tensor) -> None:
    if T.ndim != 4 or tuple(T.shape[:2]) != (1, 3):
        _fail(_TEXTURE, "the texture has the wrong shape.", expected="(1, 3, H, W)", found=str(tuple(T.shape)))
    if min(T.shape[-2:]) < 32:
        _fail(_TEXTURE, "the texture is too small to judge.", expected="H and W of at least 32 pixels",
              found=f"{tuple(T.shape[-2:])}")


def _check_pixels(T: torch.Tensor) -> None:
    if not torch.isfinite(T).all():
        _fail(_TEXTURE, "the texture contains NaN or infinite pixels.", expected="finite values in [0, 1]",
              found="NaN/inf",
              hint="the optimisation diverged. Use L-BFGS with line_search_fn='strong_wolfe'; if it still happens, "
                   "clamp less often (more evaluations per optimizer.step): each clamp makes the next curvature "
                   "estimate of L-BFGS slightly wrong.")
    lo, hi = float(T.min()), float(T.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        _fail(_TEXTURE, "the pixels are outside [0, 1].", expected="0 <= G <= 1",
              found=f"min {lo:.3g}, max {hi:.3g}",
              hint="clamp G into [0, 1] between optimiser steps (with torch.no_grad(): G.clamp_(0, 1)) and at "
                   "the end.")


def _check_not_flat(T: torch.Tensor) -> None:
    if float(T.std()) < 0.02:
        _fail(_TEXTURE, "the texture is (almost) flat.", expected="a pattern with contrast",
              found=f"pixel standard deviation {float(T.std()):.3g}",
              hint="did the optimisation run? Start from noise and let the style loss shape it.")


def _check_not_a_copy(T: torch.Tensor, S: torch.Tensor) -> None:
    copy = _copy_of(T, S)
    if copy:
        _fail(_TEXTURE, f"the texture is {copy} of the style image.",
              expected="a new image with the statistics of S", found=f"{copy} of S",
              hint="start G from noise, not from S: texture synthesis draws a new sample of the same 'stuff'.")


def _check_style_score(T: torch.Tensor, S: torch.Tensor) -> float:
    score, per_layer = texture_score(T, S)
    if score > TEXTURE_MAX_SCORE:
        layers = ", ".join(f"{n} {v:.2f}" for n, v in per_layer.items())
        _fail(_TEXTURE, "the Gram matrices of the texture are far from those of the style image.",
              expected=f"a style score below {TEXTURE_MAX_SCORE:g} (0 = S's statistics, 1 = uniform noise's)",
              found=f"{score:.3g} (per layer: {layers})",
              hint="optimise longer, or check the loss: only style losses (no content layers, alpha = 0), "
                   "computed on G, and G is the tensor the optimiser changes.")
    return score


# --------------------------------------------------------------------------------------------- the check


def check_texture(texture: torch.Tensor | Callable[[torch.Tensor], torch.Tensor], style: torch.Tensor) -> None:
    """Check a synthesised texture of ``style`` by its properties (there is no single right answer).

    ``texture`` is the image (``1 x 3 x H x W`` in [0, 1], H and W >= 32), or a
    function ``texture(style) -> image`` that the check calls. It passes if the
    image is a valid picture, not flat, not a (shifted or mirrored) copy of the
    style image, and its VGG19 Gram matrices are close to the style image's:
    its :func:`texture_score` must be below :data:`TEXTURE_MAX_SCORE`.
    """
    if callable(texture) and not isinstance(texture, torch.Tensor):
        texture = _call(_TEXTURE, "your texture function", texture, style)
    _check_image_tensor(texture)
    _check_shape(texture)
    T = texture.detach().float().cpu()
    _check_pixels(T)
    _check_not_flat(T)
    S = style.detach().float().cpu()
    _check_not_a_copy(T, S)
    score = _check_style_score(T, S)
    _passed(_TEXTURE, f"a valid image, not a copy of S, style score {score:.3f} (noise: 1, limit "
                      f"{TEXTURE_MAX_SCORE:g})", "A new texture from nothing but Gram matrices!")
