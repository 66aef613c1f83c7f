r"""How good is a stylised image? Three numbers that match what the eye sees.

A render G of content C in the style of S is judged by

* **style ratio**: :math:`\frac{1}{L}\sum_l E_l(G, S) / E_l(C, S)` over the paper's style layers
  ``relu1_1 ... relu5_1``, with :math:`E_l` the MSE of the normalised Gram matrices
  (:func:`~nst_helpers.losses.gram_matrix`). 1 means "no closer to the painting's statistics than
  the photo", 0 "the painting's statistics exactly". Every layer counts the same, so a render that
  only matches the deep layers (shapes) but not the shallow ones (colour, fine brushwork) scores badly.
* **content loss**: the MSE of the feature maps at ``relu4_2`` (the paper's content layer, on the
  0..255 scale of the Caffe weights). Lower = the buildings are more recognisable.
* **speckle**: high-frequency energy of the colour (chroma) channels divided by that of the
  brightness (luma), with the high frequencies taken as the difference to a Gaussian blur of
  sigma 1 px. Fine magenta/green noise raises it; brush strokes in brightness lower it.

All three are computed at one fixed size (512 px long side by default) so that renders of
different sizes are compared fairly; the style image is resized to the content's pixel count.
These are the measures of ``benchmarks/bench_quality.py``.

Examples
--------
>>> from nst_helpers.quality import score
>>> s = score(C, S, G)                      # doctest: +SKIP
>>> s.style_ratio, s.content, s.speckle     # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .images import ImageSource, load_image, resize_to
from .losses import gram_matrix
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, Normalization, extract_features
from .vgg import load_vgg19

__all__ = ["Scores", "score", "speckle"]

#: Long side (pixels) at which every image is scored.
SCORE_SIZE = 512


@dataclass(frozen=True)
class Scores:
    """The three quality figures of one image (see the module docstring)."""

    style_ratio: float
    content: float
    speckle: float
    per_layer: tuple[float, ...]

    def __str__(self) -> str:
        return f"style ratio {self.style_ratio:.3f}, content loss {self.content:,.0f}, speckle {self.speckle:.3f}"


def gaussian_blur(x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Separable Gaussian blur of a ``B x C x H x W`` tensor (edges reflected)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.device)
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def speckle(image: torch.Tensor) -> float:
    """Chroma / luma high-frequency energy of a ``1 x 3 x H x W`` RGB image in [0, 1] (dimensionless).

    The image is turned into Y, Cb, Cr (ITU-R BT.601); each channel's high frequencies are
    ``|x - blur(x)|`` (Gaussian, sigma 1 px), averaged over the pixels. The result is the mean of
    the Cb and Cr energies over the Y energy: about 0.1-0.2 for a painting or a clean render,
    0.5 and more for a render full of coloured noise.
    """
    r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    ycc = torch.cat([y, cb, cr], dim=1)
    energy = (ycc - gaussian_blur(ycc)).abs().mean(dim=(0, 2, 3))
    return float((energy[1] + energy[2]) / 2 / energy[0].clamp_min(1e-12))


def _style_at(style: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """The style image resized to the pixel count of ``hw``, keeping its own aspect ratio."""
    sh, sw = style.shape[-2:]
    f = math.sqrt(hw[0] * hw[1] / (sh * sw))
    return resize_to(style, (max(1, round(sh * f)), max(1, round(sw * f))))


@torch.no_grad()
def score(content: ImageSource, style: ImageSource, *images: ImageSource, size: int = SCORE_SIZE,
          vgg: torch.nn.Sequential | None = None) -> Scores | list[Scores]:
    """Score one or more renders of ``content`` in the style of ``style``.

    Parameters
    ----------
    content, style
        C and S (paths, tensors, anything :func:`~nst_helpers.images.load_image` takes).
    images
        The renders G to score; each is resized to C's size at ``size`` px (long side).
    size
        Long side at which everything is scored (default 512).
    vgg
        A VGG19 stack from :func:`~nst_helpers.vgg.load_vgg19` (Caffe weights), to avoid reloading it.

    Returns
    -------
    Scores, or a list of them when several images are given.
    """
    layers = list(DEFAULT_STYLE_LAYERS) + list(DEFAULT_CONTENT_LAYERS)
    if vgg is None:
        vgg = load_vgg19("caffe", last_layer="relu5_1")
    norm = Normalization("caffe")
    C = load_image(content, size)
    hw = tuple(C.shape[-2:])
    S = _style_at(load_image(style), hw)
    fc = extract_features(vgg, norm, C, layers)
    fs = extract_features(vgg, norm, S, DEFAULT_STYLE_LAYERS)
    targets = {k: gram_matrix(fs[k]) for k in DEFAULT_STYLE_LAYERS}
    photo = {k: F.mse_loss(gram_matrix(fc[k]), targets[k]).item() for k in DEFAULT_STYLE_LAYERS}
    out = []
    for image in images:
        G = resize_to(load_image(image), hw)
        fg = extract_features(vgg, norm, G, layers)
        per = tuple(F.mse_loss(gram_matrix(fg[k]), targets[k]).item() / photo[k] for k in DEFAULT_STYLE_LAYERS)
        content_loss = sum(F.mse_loss(fg[k], fc[k]).item() for k in DEFAULT_CONTENT_LAYERS)
        out.append(Scores(sum(per) / len(per), content_loss, speckle(G), per))
    return out[0] if len(out) == 1 else out
