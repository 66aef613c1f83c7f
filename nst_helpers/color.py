r"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Plain style transfer copies the *colours* of S along with its brush strokes.
Two ways to keep the colours of C instead:

* **Colour matching** (:func:`match_color`): before the transfer, change the
  colours of S so that their mean and covariance equal those of C. Each
  pixel :math:`x` of S (an RGB vector) becomes
  :math:`A (x - \mu_S) + \mu_C` with :math:`A = \Sigma_C^{1/2}\,\Sigma_S^{-1/2}`,
  so the new colours have mean :math:`\mu_C` and covariance :math:`\Sigma_C`.
* **Luminance-only transfer** (:func:`luminance`, :func:`combine_luminance`):
  run the transfer on the luminance (brightness) of C and S only, then put the
  colour channels of C back. The style luminance is first shifted and scaled so
  its mean and spread match the content's.

Images are ``1 x 3 x H x W`` RGB tensors in [0, 1]. We use the YIQ colour
space (NTSC): Y is the luminance, I and Q the colour.
"""

from __future__ import annotations

import torch

from .errors import ParameterError

__all__ = ["RGB_TO_YIQ", "YIQ_TO_RGB", "rgb_to_yiq", "yiq_to_rgb", "luminance", "match_luminance",
           "combine_luminance", "match_color", "preserve_colors", "COLOR_MODES"]

#: Ways to preserve the content's colours in ``run_style_transfer(preserve_color=...)``.
COLOR_MODES = ("luminance", "match")

#: RGB -> YIQ (rows: Y, I, Q).
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                           [0.595716, -0.274453, -0.321263],
                           [0.211456, -0.522591, 0.311135]])
#: YIQ -> RGB, the inverse matrix.
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def _check(image: torch.Tensor, what: str) -> None:
    if image.ndim != 4 or image.shape[1] != 3:
        raise ParameterError(f"{what} must be an RGB image 1 x 3 x H x W, got shape {tuple(image.shape)}.")


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """``B x 3 x H x W`` RGB -> YIQ (Y in [0, 1]; I, Q roughly in [-0.6, 0.6])."""
    _check(image, "image")
    return torch.einsum("ij,bjhw->bihw", RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """``B x 3 x H x W`` YIQ -> RGB (not clipped)."""
    _check(image, "image")
    return torch.einsum("ij,bjhw->bihw", YIQ_TO_RGB.to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """The luminance Y of an RGB image as a gray RGB image ``1 x 3 x H x W`` (Y copied to all channels)."""
    y = rgb_to_yiq(image)[:, :1]
    return y.expand(-1, 3, -1, -1).contiguous()


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style luminance so its mean and std equal the content's (clipped to [0, 1])."""
    s_mean, s_std = style_y.mean(), style_y.std().clamp_min(1e-6)
    return ((style_y - s_mean) * (content_y.std() / s_std) + content_y.mean()).clamp(0, 1)


def combine_luminance(g_luminance: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Y of ``g_luminance`` (a gray RGB image, e.g. the result of a luminance-only run) + I, Q of ``content``.

    ``content`` is resized to G's size if needed. Returns RGB in [0, 1].
    """
    _check(content, "content")
    if content.shape[-2:] != g_luminance.shape[-2:]:
        from .images import resize_to

        content = resize_to(content, tuple(g_luminance.shape[-2:]))
    yiq = rgb_to_yiq(content)
    yiq = torch.cat([g_luminance[:, :1], yiq[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def _sqrt_and_inv_sqrt(cov: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(eps)
    return (vecs * vals.sqrt()) @ vecs.T, (vecs * vals.rsqrt()) @ vecs.T


def match_color(style: torch.Tensor, content: torch.Tensor, *, clip: bool = True) -> torch.Tensor:
    r"""Recolour ``style`` so that its RGB mean and covariance equal those of ``content``.

    Parameters
    ----------
    style, content
        ``1 x 3 x H x W`` RGB images in [0, 1] (sizes may differ).
    clip
        Clip the result to [0, 1] (the statistics then match only approximately).

    Returns
    -------
    torch.Tensor
        ``style`` with each pixel mapped by :math:`A(x - \mu_S) + \mu_C`,
        :math:`A = \Sigma_C^{1/2}\Sigma_S^{-1/2}` (symmetric square roots by
        eigendecomposition, ``torch.linalg.eigh``), clipped to [0, 1] if ``clip``.
    """
    _check(style, "style")
    _check(content, "content")
    s = style[0].reshape(3, -1).double()
    c = content[0].reshape(3, -1).double()
    mu_s, mu_c = s.mean(1, keepdim=True), c.mean(1, keepdim=True)
    cov_s = torch.cov(s) + 1e-5 * torch.eye(3, dtype=s.dtype)
    cov_c = torch.cov(c) + 1e-5 * torch.eye(3, dtype=c.dtype)
    _, inv_sqrt_s = _sqrt_and_inv_sqrt(cov_s)
    sqrt_c, _ = _sqrt_and_inv_sqrt(cov_c)
    out = sqrt_c @ inv_sqrt_s @ (s - mu_s) + mu_c
    out = out.reshape_as(style[0]).unsqueeze(0).to(style.dtype)
    return out.clamp(0, 1) if clip else out


def preserve_colors(mode: str | None, C: torch.Tensor, styles: list[torch.Tensor], init):
    """Colour preservation as pre- and post-processing around an ordinary transfer.

    Returns ``(C, styles, init, finish)``: the images to run the transfer on, and ``finish(G, history)``,
    which turns its result (and the history's snapshots) back into the picture the user wants.
    ``mode``: ``None`` (nothing changes), ``"match"`` (each S recoloured to C's colour statistics) or
    ``"luminance"`` (C, S and an init image reduced to their luminance; ``finish`` puts C's colours back).
    """
    if mode is None:
        return C, styles, init, lambda G, history: G
    if mode == "match":
        return C, [match_color(s, C) for s in styles], init, lambda G, history: G
    if mode != "luminance":
        raise ParameterError(f"Unknown preserve_color {mode!r}: use None or one of {COLOR_MODES}.")
    C_rgb, C_y = C, luminance(C)

    def finish(G: torch.Tensor, history) -> torch.Tensor:
        history.snapshots = [(k, combine_luminance(g, C_rgb)) for k, g in history.snapshots]
        return combine_luminance(G, C_rgb.to(G.device))

    styles = [luminance(match_luminance(luminance(s), C_y)) for s in styles]
    return C_y, styles, luminance(init) if isinstance(init, torch.Tensor) else init, finish
