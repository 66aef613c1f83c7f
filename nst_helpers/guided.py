"""Several style images, and regions of G that follow different styles (lecture 06; Gatys et al. 2017).

Two variations of :class:`~nst_helpers.losses.StyleLoss`, each a loss layer with ``self.loss``:

* :class:`BlendedStyleLoss`: the target is the weighted mean of the Gram matrices of several
  style images, so G mixes their statistics everywhere.
* :class:`GuidedStyleLoss`: style image r governs only the region of G where its mask r is on
  (a *guided* Gram matrix, :func:`~nst_helpers.losses.gram_matrix` with ``mask=``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ParameterError
from .losses import gram_matrix, resize_mask

__all__ = ["BlendedStyleLoss", "GuidedStyleLoss", "blend_weights", "check_masks"]


def blend_weights(weights, n_styles: int) -> list[float]:
    """Blend weights normalised to sum to 1 (default: equal); one non-negative weight per style image."""
    weights = [1.0] * n_styles if weights is None else list(weights)
    if len(weights) != n_styles or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ParameterError(f"Give one non-negative blend weight per style image ({n_styles}), not all zero; "
                             f"got {weights}.")
    total = float(sum(weights))
    return [w / total for w in weights]


def check_masks(masks, n_styles: int | None = None) -> list[torch.Tensor]:
    """The masks as float tensors, checked: ``1 x 1 x H x W`` in [0, 1], one per style image (if ``n_styles``)."""
    masks = [torch.as_tensor(m, dtype=torch.float32) for m in masks]
    for m in masks:
        if m.ndim != 4 or m.shape[:2] != (1, 1) or not torch.isfinite(m).all() or m.min() < 0 or m.max() > 1:
            raise ParameterError(
                f"A style mask must be a 1 x 1 x H x W tensor with values in [0, 1], got shape "
                f"{tuple(m.shape)}. Build one with e.g. torch.zeros(1, 1, H, W) and set the region to 1.")
    if n_styles is not None and len(masks) != n_styles:
        raise ParameterError(f"Give one mask per style image: {n_styles} style images, {len(masks)} masks.")
    return masks


class BlendedStyleLoss(nn.Module):
    """Style loss towards a blend of style images: MSE(Gram(G), sum_r w_r Gram(S_r)).

    ``target_features``: a list of ``1 x N x H_r x W_r`` feature maps, one per style image;
    ``weights``: their blend weights (normalised to sum to 1; default equal). ``self.target`` is ``1 x N x N``.
    """

    def __init__(self, target_features: list[torch.Tensor], weights: list[float] | None = None) -> None:
        super().__init__()
        feats = [target_features] if isinstance(target_features, torch.Tensor) else list(target_features)
        self.blend = blend_weights(weights, len(feats))
        with torch.no_grad():
            target = sum(w * gram_matrix(f.detach()) for w, f in zip(self.blend, feats))
        self.register_buffer("target", target)
        self.loss = torch.zeros((), device=target.device)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(gram_matrix(input), self.target)
        return input

    def extra_repr(self) -> str:
        return f"target={tuple(self.target.shape)}, styles={len(self.blend)}"


class GuidedStyleLoss(nn.Module):
    """Style loss by regions: sum_r w_r MSE(guided Gram of G in region r, Gram of S_r).

    ``masks``: one ``1 x 1 x H x W`` mask of G per style image (any resolution; resized to the
    features, kept as buffers ``mask_0``, ``mask_1``, ...). Where every mask is 0, G has no style loss.
    """

    def __init__(self, target_features: list[torch.Tensor], weights: list[float] | None,
                 masks: list[torch.Tensor]) -> None:
        super().__init__()
        feats = list(target_features)
        self.blend = blend_weights(weights, len(feats))
        masks = check_masks(masks, len(feats))
        with torch.no_grad():
            self.register_buffer("region_targets", torch.cat([gram_matrix(f.detach()) for f in feats]))  # R x N x N
        for r, m in enumerate(masks):
            self.register_buffer(f"mask_{r}", m.detach().to(self.region_targets.device))
        self._regions: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}  # feature size -> masks
        self.loss = torch.zeros((), device=self.region_targets.device)

    def regions(self, size: tuple[int, int]) -> list[tuple[int, torch.Tensor]]:
        """``(r, mask resized to size)`` for every region that is not empty at this feature size."""
        if size not in self._regions:
            resized = [resize_mask(getattr(self, f"mask_{r}"), size) for r in range(len(self.blend))]
            self._regions[size] = [(r, m) for r, m in enumerate(resized) if float(m.sum()) > 0]
        return self._regions[size]

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        loss = torch.zeros((), device=input.device)
        for r, mask in self.regions(tuple(input.shape[-2:])):
            loss = loss + self.blend[r] * F.mse_loss(gram_matrix(input, mask), self.region_targets[r:r + 1])
        self.loss = loss
        return input

    def extra_repr(self) -> str:
        return f"target={tuple(self.region_targets.shape[1:])}, regions={len(self.blend)}"
