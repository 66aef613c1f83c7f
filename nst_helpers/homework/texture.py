"""Exercise: texture synthesis, judged by the properties of the image (there is no single right answer)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as nnf
from torch import nn

from .. import losses as _ref
from ..color import luminance
from ..model import Normalization, extract_features
from ..quality import gaussian_blur
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


# --------------------------------------------------------------------------------------------- local patch matching
#
# A Gram-matching texture is new everywhere: the nearest patch of S to a patch of T sits at a random place, and the
# nearest patches of two neighbouring patches of T have nothing to do with each other. A copy of S, however degraded
# (noise, blur, a few optimisation steps), or S cut into pieces and rearranged, is S again patch by patch: the nearest
# patches of S line up. Two measurements, both over the 8 flips, rotations and transposes of S:
#
# * *verbatim pieces* (full resolution): the fraction of the textured 4 x 4 patches of T that occur, to 1/64 in every
#   value, somewhere in S. Cut-and-shuffled pieces of S (of 8 px or more) give 0.3 to 1.
# * *alignment* (both images shrunk to 64 px on the long side, then blurred with sigma = 1 px, which averages added
#   noise away; 9 x 9 grey patches, every other one in T; also matched against S at half size):
#   the *vote*, the largest fraction of T's patches whose nearest patch of S lies at the same offset (+-1 px) in the
#   same flip of S (one displaced, flipped, blurred or noisy copy of S gets one big vote), and the *coherence*, the
#   fraction of T's patches whose nearest patch of S continues that of at least 3 of their 4 neighbours (pieces of S
#   moved around, or S shrunk and tiled).
#
# Calibration. Real textures: hw3's synthesize_texture (L-BFGS from weak grey noise, clamped after every 20
# evaluations) of 10 style images: the six bundled paintings (swirls, starry_night, mosaic, pointillism, waves,
# geometric), the photos chelsea and coffee, procedural stripes and a checkerboard; 64 px with 30 evaluations (all
# 10), 128 px with 100 (the paintings and chelsea) and 300 (swirls), 256 px with 60 (starry_night), 64 px with
# 200-300 (starry_night twice, swirls, pointillism, waves, geometric, checkerboard). Over these 30 textures:
# verbatim 0.000 everywhere, vote 0.005-0.105, coherence 0.000-0.127. The highest are converged textures of small
# images (64 px, 300 evaluations: at relu5_1 such an image is 2 x 4 positions, so its Gram matrix also holds some
# of S's layout), hence thresholds of about twice that.
# Cheats, on the same styles (except stripes and checkerboard: a periodic image is its own shifted copy, so there
# only exact copies are recognised, by the verbatim fraction):
#   S + Gaussian noise of std 0.1 / 0.2 / 0.3          vote 0.82-1.0 / 0.55-0.95 / 0.21-0.91
#   S + noise (std 0.3) polished by 30 L-BFGS iter.     vote 0.48-0.84 (after noise of std 0.5 to 1 the polished
#                                                       image is mostly a real texture: vote 0.03-0.33)
#   S blurred, sigma 1 / 2 px                           vote 0.87-1.0 / 0.12-1.0 (sigma 2: style score 0.46-1.9,
#                                                       so the score rejects it when the vote misses it)
#   S shrunk to half and tiled 2 x 2                    coherence 0.36-0.74
#   S cut into 16 / 12 / 8 px pieces, shuffled          verbatim 0.82-0.84 / 0.75-0.76 / 0.62 (also turned pieces)
#   rotated, transposed, rolled or repeated S           verbatim 0.84-1.0
# Not recognised: pieces of 4 px or less, noise added to shuffled pieces (caught by coherence in half the styles),
# S zoomed in, turns by other angles than multiples of 90 degrees. Time on one thread: 0.2-0.6 s at 64-128 px,
# 0.8 s at 256 px (images are shrunk to 64 px for the alignment; the verbatim search is at full size).

#: Thresholds of the copy detector, well above what real textures reach (see above).
_COPY_VOTE = 0.2
_COPY_COHERENCE = 0.25
_COPY_VERBATIM = 0.2
_ALIGN_SIDE = 64
_ALIGN_PATCH = 9
_DIHEDRAL = ("", " (rotated by 90 degrees)", " (rotated by 180 degrees)", " (rotated by 90 degrees)", " (transposed)",
             " (mirrored)", " (transposed)", " (mirrored)")


def _grey(x: torch.Tensor) -> torch.Tensor:
    """The luminance Y of a ``B x 3 x H x W`` RGB image, ``B x 1 x H x W``."""
    return luminance(x)[:, :1]


def _dihedral(x: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips, rotations and transposes of x, in the order of _DIHEDRAL."""
    return [torch.rot90(t, k, (-2, -1)) for t in (x, x.transpose(-1, -2)) for k in range(4)]


def _verbatim_fraction(T: torch.Tensor, S: torch.Tensor, p: int = 4) -> float:
    """The fraction of T's textured p x p patches (std >= 0.02) that occur in S (any flip), each value to 1/64."""
    weights = torch.randint(1, 2 ** 62, (3 * p * p,), generator=torch.Generator().manual_seed(0))

    def keys(x: torch.Tensor, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
        patches = nnf.unfold(x, p, stride=stride)[0].T  # L x 3pp
        q = torch.round(patches * 64).long()
        return (q * weights).sum(1), patches.std(1) >= 0.02

    kt, textured = keys(T, 2)
    if int(textured.sum()) == 0:
        return 0.0
    ks = torch.cat([keys(s, 1)[0] for s in _dihedral(S)])
    return float(torch.isin(kt[textured], ks).float().mean())


def _alignment(T: torch.Tensor, S: torch.Tensor) -> tuple[float, float, int]:
    """(vote, coherence, index of the flip of S that got the vote; 8-15: S at half size)."""
    p, stride = _ALIGN_PATCH, 2
    f = max(S.shape[-2:]) / _ALIGN_SIDE
    if f > 1:
        T, S = nnf.interpolate(T, scale_factor=1 / f, mode="area"), nnf.interpolate(S, scale_factor=1 / f, mode="area")
    t, s = gaussian_blur(_grey(T)), gaussian_blur(_grey(S))
    if min(t.shape[-2:]) < p + stride or min(s.shape[-2:]) < p:
        return 0.0, 0.0, 0  # T much smaller than S, or S tiny: nothing to align (the verbatim search still runs)
    sources = _dihedral(s) + _dihedral(nnf.interpolate(s, scale_factor=0.5, mode="area"))
    cand, where = [], []
    for k, src in enumerate(sources):
        h, w = src.shape[-2] - p + 1, src.shape[-1] - p + 1
        if h < 1 or w < 1:
            continue
        cand.append(nnf.unfold(src, p)[0].T)
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        where.append(torch.stack([torch.full((h * w,), k), ys.reshape(-1), xs.reshape(-1)], 1))
    cand_all, where_all = torch.cat(cand), torch.cat(where)
    queries = nnf.unfold(t, p, stride=stride)[0].T
    gh, gw = (t.shape[-2] - p) // stride + 1, (t.shape[-1] - p) // stride + 1
    c2 = cand_all.pow(2).sum(1)
    nearest = torch.cat([(c2[None] - 2 * q @ cand_all.T).argmin(1) for q in queries.split(512)])
    m = where_all[nearest].view(gh, gw, 3)

    def agree(a, b, dy, dx):
        return (a[..., 0] == b[..., 0]) & ((b[..., 1] - a[..., 1] - dy).abs() <= 1) & \
            ((b[..., 2] - a[..., 2] - dx).abs() <= 1)

    right, down = agree(m[:, :-1], m[:, 1:], 0, stride).float(), agree(m[:-1], m[1:], stride, 0).float()
    count = torch.zeros(gh, gw)
    count[:, :-1] += right
    count[:, 1:] += right
    count[:-1] += down
    count[1:] += down
    coherence = float((count >= 3).float().mean())
    ty = (torch.arange(gh) * stride).view(-1, 1).expand(gh, gw)
    tx = (torch.arange(gw) * stride).view(1, -1).expand(gh, gw)
    key = torch.stack([m[..., 0], ty - m[..., 1], tx - m[..., 2]], -1).reshape(-1, 3)
    uniq, counts = torch.unique(key, dim=0, return_counts=True)
    vote, flip = 0, 0
    for u in uniq[counts.argsort(descending=True)[:16]]:
        near = (key[:, 0] == u[0]) & ((key[:, 1:] - u[1:]).abs() <= 1).all(1)
        if int(near.sum()) > vote:
            vote, flip = int(near.sum()), int(u[0])
    return vote / key.shape[0], coherence, flip


def _high_frequencies(x: torch.Tensor) -> float:
    return float((x - gaussian_blur(x)).pow(2).mean())


def copy_analysis(texture: torch.Tensor, style: torch.Tensor) -> dict[str, float]:
    """The measurements of the copy detector (see the comment above): verbatim, vote, coherence, flip."""
    with torch.no_grad():
        T, S = texture.detach().float().cpu(), style.detach().float().cpu()
        vote, coherence, flip = _alignment(T, S)
        return {"verbatim": _verbatim_fraction(T, S), "vote": vote, "coherence": coherence, "flip": flip}


def _kind_of_copy(T: torch.Tensor, S: torch.Tensor) -> tuple[str, str, bool] | None:
    """(what T is, the measurements that show it, whether T is S itself) if T copies S, else None."""
    a = copy_analysis(T, S)
    vote, coherence, verbatim, flip = a["vote"], a["coherence"], a["verbatim"], int(a["flip"])
    how = _DIHEDRAL[flip % 8]
    measured = (f"{verbatim:.0%} of its 4 x 4 patches occur verbatim in S; {vote:.0%} of its patches line up with "
                f"one displaced copy of S, {coherence:.0%} with their neighbours' (textures: 0%, at most about 10% "
                f"and 13%)")
    if flip >= 8 and verbatim < 0.5 and (vote >= _COPY_VOTE or coherence >= _COPY_COHERENCE):
        return "S shrunk and repeated (tiled)" + how, measured, False
    if vote >= 0.5 and verbatim >= 0.5:
        return "a copy of S" + how, measured, True
    if verbatim >= _COPY_VERBATIM:
        return "pieces of S cut out and put together again (rearranged or repeated)", measured, verbatim >= 0.5
    if vote >= _COPY_VOTE:
        ratio = _high_frequencies(_grey(T)) / max(_high_frequencies(_grey(S)), 1e-12)
        if ratio < 0.6:
            return "a blurred copy of S" + how, measured, False
        return "a copy of S" + how + " with noise or other changes (such as S plus noise, perhaps polished by " \
                                     "a few optimisation steps)", measured, False
    if coherence >= _COPY_COHERENCE:
        return "pieces of S rearranged", measured, False
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
    kind = _kind_of_copy(T, S)
    copy = _copy_of(T, S)
    if copy and (kind is None or kind[2]):
        _fail(_TEXTURE, f"the texture is {copy} of the style image.",
              expected="a new image with the statistics of S", found=f"{copy} of S",
              hint="start G from noise, not from S: texture synthesis draws a new sample of the same 'stuff'.")
    if kind:
        what, measured, _ = kind
        _fail(_TEXTURE, f"the texture is not new: it is {what}.",
              expected="a new image with the statistics of S: no piece of it lines up with a piece of S",
              found=f"{what}: {measured}",
              hint="a texture is a new sample of the same 'stuff', not S itself: its Gram matrices match S's, "
                   "while its pixels come from nowhere in S. Copying S, adding noise to it, blurring, turning, "
                   "tiling or rearranging pieces of it keeps S's picture. Start G from noise (not from S) and let "
                   "the style loss alone shape it.")


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
