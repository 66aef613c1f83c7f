r"""The losses of neural style transfer: content, style (Gram matrices) and a smoothness term on G.

Notation (Gatys et al. 2016): a layer :math:`l` has :math:`N_l` feature maps,
each of size :math:`M_l = H_l W_l`. Its response to an image is the matrix
:math:`F^l \in \mathbb{R}^{N_l \times M_l}` (one flattened map per row).

* Content loss: the mean squared error of the feature maps of G and C,
  :math:`L_{content} = \frac{1}{N_l M_l}\sum_{ij}(F^l_{ij} - P^l_{ij})^2`.
* Gram matrix: :math:`G^l = F^l {F^l}^\top / (N_l M_l)`, an :math:`N_l \times N_l`
  matrix of dot products between feature maps. The division by
  :math:`N_l M_l` makes its size independent of the image size.
* Style loss of one layer: the MSE of the Gram matrices of G and S,
  :math:`E_l = \frac{1}{N_l^2}\sum_{ij}(G^l_{ij} - A^l_{ij})^2`.

Relation to the paper: the paper's content loss is
:math:`\frac12\sum(F-P)^2`, i.e. :math:`\frac{N_l M_l}{2}` times ours; its
per-layer style loss uses un-normalised Grams with a factor
:math:`\frac{1}{4N_l^2M_l^2}`, i.e. it is :math:`\frac{N_l^2}{4}` times ours.
See :mod:`nst_helpers.transfer` for what this means for alpha and beta.

Each loss layer is an ``nn.Module`` that returns its input unchanged, so it
can sit inside an ``nn.Sequential`` between VGG layers, and stores the value of
its loss from the last forward pass in ``self.loss``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ParameterError

__all__ = ["gram_matrix", "resize_mask", "ContentLoss", "StyleLoss", "tv_loss"]


def gram_matrix(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Gram matrix of a batch of feature maps, normalised by :math:`N M`.

    Parameters
    ----------
    features
        ``B x N x H x W``: B images, N feature maps of H x W each.
    mask
        Optional ``B x 1 x H x W`` (or ``1 x 1 x H x W``) weights in [0, 1]: a
        *guided* Gram matrix (Gatys et al. 2017) of the masked region only,
        normalised by ``N * sum(mask**2)`` instead of ``N * H * W``. An all-ones
        mask gives the ordinary Gram matrix.

    Returns
    -------
    torch.Tensor
        ``B x N x N`` with entry ``[b, i, j] = sum_k F[b, i, k] * F[b, j, k] / (N * H * W)``,
        where ``F`` is ``features`` reshaped to ``B x N x (H*W)``: the
        dot product of maps i and j, averaged over the ``H*W`` positions and
        divided by N. Symmetric and positive semi-definite; blind to where
        in the image a feature occurs (shuffling positions changes nothing).
    """
    if features.ndim != 4:
        raise ParameterError(
            f"gram_matrix expects feature maps of shape B x N x H x W (4 dimensions), got shape "
            f"{tuple(features.shape)}. For one image add a batch dimension with .unsqueeze(0)."
        )
    b, n, h, w = features.shape
    if mask is not None:
        features = features * mask
        norm = n * mask.pow(2).sum().clamp_min(1e-8) * (b / mask.shape[0])
    else:
        norm = n * h * w
    flat = features.reshape(b, n, h * w)  # one row per feature map: keep channels and positions apart
    return torch.bmm(flat, flat.transpose(1, 2)) / norm


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a ``1 x 1 x H x W`` mask in [0, 1] to ``size`` (area averaging when shrinking)."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=size, mode="area" if mask.shape[-1] >= size[-1] else "bilinear")


class ContentLoss(nn.Module):
    """Content loss layer: MSE between the feature maps of G and fixed targets.

    Parameters
    ----------
    target
        ``1 x N x H x W`` feature maps of the content image C at this layer
        (detached: the target is a constant).

    Forward: takes ``1 x N x H x W`` features of G, stores
    ``self.loss = mean((input - target)**2)`` (a 0-d tensor) and returns
    ``input`` unchanged. ``self.loss`` stays 0 until the first forward pass.
    """

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target.detach().clone())
        self.loss = torch.zeros((), device=target.device)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.shape != self.target.shape:
            raise ParameterError(
                f"ContentLoss got features of shape {tuple(input.shape)}, but its target has shape "
                f"{tuple(self.target.shape)}: G must have the same size as C."
            )
        self.loss = F.mse_loss(input, self.target)
        return input

    def extra_repr(self) -> str:
        return f"target={tuple(self.target.shape)}"


class StyleLoss(nn.Module):
    """Style loss layer: MSE between the Gram matrices of G and of the style image S.

    Forward: takes ``1 x N x H x W`` features of G (any H x W: Gram matrices do
    not depend on the image size), stores ``self.loss`` (a 0-d tensor) and
    returns ``input`` unchanged. Several style images and regions of G
    (lecture 06) are :class:`~nst_helpers.guided.BlendedStyleLoss` and
    :class:`~nst_helpers.guided.GuidedStyleLoss`.

    Parameters
    ----------
    target_features
        ``1 x N x H x W`` feature maps of S at this layer. Its Gram matrix
        ``1 x N x N`` is computed once and kept as ``self.target``.
    """

    def __init__(self, target_features: torch.Tensor) -> None:
        super().__init__()
        if not isinstance(target_features, torch.Tensor):
            raise ParameterError(
                "StyleLoss takes the feature maps of one style image (a 1 x N x H x W tensor); for a blend of "
                "several use nst_helpers.guided.BlendedStyleLoss(features, weights).")
        with torch.no_grad():
            self.register_buffer("target", gram_matrix(target_features.detach()))
        self.loss = torch.zeros((), device=target_features.device)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(gram_matrix(input), self.target)
        return input

    def extra_repr(self) -> str:
        return f"target={tuple(self.target.shape)}"


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Smoothness term of a ``B x 3 x H x W`` image in [0, 1]: the mean squared difference of neighbouring pixels.

    ``mean((G[i+1, j] - G[i, j])**2) + mean((G[i, j+1] - G[i, j])**2)``, a 0-d tensor (0 for a flat image).
    This is a quadratic smoothness penalty, often called "total variation" (TV) in style-transfer code, hence
    the names ``tv_loss`` and ``tv_weight``; true TV is the L1 version, the mean *absolute* difference. The
    squared form is smooth (easy for L-BFGS) but prefers blurred edges to sharp ones: spreading an edge over
    k pixels divides it by k, while TV stays the same (lecture 07).
    """
    dh = image[..., 1:, :] - image[..., :-1, :]
    dw = image[..., :, 1:] - image[..., :, :-1]
    return dh.pow(2).mean() + dw.pow(2).mean()

