r"""The losses of neural style transfer: content, style (Gram matrices) and total variation.

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

__all__ = ["gram_matrix", "ContentLoss", "StyleLoss", "tv_loss"]


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    r"""Gram matrix of a batch of feature maps, normalised by :math:`N M`.

    Parameters
    ----------
    features
        ``B x N x H x W``: B images, N feature maps of H x W each.

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
    flat = features.reshape(b, n, h * w)  # one row per feature map: keep channels and positions apart
    return torch.bmm(flat, flat.transpose(1, 2)) / (n * h * w)


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
    """Style loss layer: MSE between the Gram matrices of G and of the style image(s).

    Parameters
    ----------
    target_features
        ``1 x N x H x W`` feature maps of the style image S at this layer. Its
        Gram matrix ``1 x N x N`` is computed once and kept as ``self.target``.
        A list of feature maps with ``weights`` blends several style images:
        the target is the weighted mean of their Gram matrices.
    weights
        Blend weights for a list of style images (normalised to sum to 1).

    Forward: takes ``1 x N x H x W`` features of G (any H x W: Gram matrices do
    not depend on the image size), stores ``self.loss = mean((gram(input) - target)**2)``
    and returns ``input`` unchanged.
    """

    def __init__(self, target_features: torch.Tensor | list[torch.Tensor], weights: list[float] | None = None) -> None:
        super().__init__()
        feats = [target_features] if isinstance(target_features, torch.Tensor) else list(target_features)
        if weights is None:
            weights = [1.0] * len(feats)
        if len(weights) != len(feats) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ParameterError(
                f"StyleLoss needs one non-negative blend weight per style image ({len(feats)}), "
                f"not all zero; got {weights}."
            )
        total = float(sum(weights))
        with torch.no_grad():
            target = sum((w / total) * gram_matrix(f.detach()) for w, f in zip(weights, feats))
        self.register_buffer("target", target)
        self.loss = torch.zeros((), device=target.device)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(gram_matrix(input), self.target)
        return input

    def extra_repr(self) -> str:
        return f"target={tuple(self.target.shape)}"


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation of a ``B x 3 x H x W`` image in [0, 1]: mean squared difference of neighbouring pixels.

    A smoothness prior on G (0 for a flat image); returns a 0-d tensor.
    """
    dh = image[..., 1:, :] - image[..., :-1, :]
    dw = image[..., :, 1:] - image[..., :, :-1]
    return dh.pow(2).mean() + dw.pow(2).mean()

