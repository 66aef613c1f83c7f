"""Pictures for the lectures: feature maps, Gram heat maps, loss curves, image grids.

Every function draws with matplotlib and returns the ``Figure`` (so a
notebook can save or close it); none of them computes anything the other
modules do not already provide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .errors import ParameterError
from .images import to_pil
from .transfer import History

__all__ = ["show_feature_maps", "show_gram", "plot_losses", "image_grid"]


def show_feature_maps(features: torch.Tensor, n: int = 8, *, indices: Sequence[int] | None = None,
                      title: str = "", cmap: str = "viridis", height: float = 1.6):
    """Show feature maps of a ``1 x N x H x W`` tensor, each as a small heat map titled by its index.

    ``indices`` picks the maps to show (e.g. the most active ones); default: the first ``n``.
    Each map is scaled to its own min..max, so weak and strong maps are both visible.
    """
    import matplotlib.pyplot as plt

    if features.ndim != 4 or features.shape[0] != 1:
        raise ParameterError(f"Expected feature maps 1 x N x H x W, got {tuple(features.shape)}.")
    idx = list(indices) if indices is not None else list(range(min(n, features.shape[1])))
    maps = features[0, idx].detach().float().cpu()
    n = maps.shape[0]
    aspect = maps.shape[-1] / maps.shape[-2]
    fig, axes = plt.subplots(1, n, figsize=(height * aspect * n, height + 0.4), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(maps[i].numpy(), cmap=cmap)
        ax.set_title(f"map {idx[i]}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_gram(grams: torch.Tensor | Sequence[torch.Tensor], titles: Sequence[str] | None = None, *,
              n: int = 32, height: float = 3.0, cmap: str = "magma"):
    """Heat maps of Gram matrices (``N x N`` or ``1 x N x N``), the top-left ``n x n`` block of each."""
    import matplotlib.pyplot as plt

    if isinstance(grams, torch.Tensor):
        grams = [grams]
    grams = [g.detach().float().cpu().reshape(g.shape[-2], g.shape[-1])[:n, :n] for g in grams]
    titles = list(titles) if titles is not None else [""] * len(grams)
    fig, axes = plt.subplots(1, len(grams), figsize=(height * 1.15 * len(grams), height), squeeze=False)
    for ax, g, t in zip(axes[0], grams, titles):
        im = ax.imshow(g.numpy(), cmap=cmap)
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("feature map j")
        ax.set_ylabel("feature map i")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def plot_losses(history: History, *, ax=None, mark_step: int | None = None, log: bool = True,
                weighted: bool = True):
    """Loss curves of a run: total, alpha * content and beta * style per evaluation.

    Parameters
    ----------
    history
        From :func:`nst_helpers.run_style_transfer`.
    ax
        Axes to draw into (a new figure otherwise).
    mark_step
        Draw a vertical line at this evaluation (the step-through viewer uses it).
    log
        Logarithmic loss axis (the losses fall over orders of magnitude).
    weighted
        Plot ``alpha * L_content`` and ``beta * L_style`` (the parts of L) rather than the raw losses.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
    else:
        fig = ax.figure
    steps = np.arange(1, history.steps + 1)
    a = history.settings.get("alpha", 1.0) if weighted else 1.0
    b = history.settings.get("beta", 1.0) if weighted else 1.0
    ax.plot(steps, history.total, label="total L", color="black", lw=2)
    if any(history.content):
        ax.plot(steps, [a * v for v in history.content], label="alpha * L_content" if weighted else "L_content")
    if any(history.style):
        ax.plot(steps, [b * v for v in history.style], label="beta * L_style" if weighted else "L_style")
    if mark_step is not None:
        ax.axvline(mark_step, color="tab:red", ls="--", lw=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("objective evaluation")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def image_grid(images: Sequence[torch.Tensor], titles: Sequence[str] | None = None, *, ncols: int = 4,
               height: float = 2.6, row_labels: Sequence[str] | None = None):
    """A grid of ``1 x 3 x H x W`` images, ``ncols`` per row, with titles (and optional row labels)."""
    import matplotlib.pyplot as plt

    images = list(images)
    if not images:
        raise ParameterError("image_grid needs at least one image.")
    titles = list(titles) if titles is not None else [""] * len(images)
    nrows = -(-len(images) // ncols)
    aspect = images[0].shape[-1] / images[0].shape[-2]
    fig, axes = plt.subplots(nrows, ncols, figsize=(height * aspect * ncols, (height + 0.35) * nrows),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(to_pil(images[k]))
            ax.set_title(titles[k], fontsize=9)
    if row_labels:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r, 0].axis("on")
            axes[r, 0].set_xticks([])
            axes[r, 0].set_yticks([])
            axes[r, 0].set_ylabel(label, fontsize=9)
    fig.tight_layout()
    return fig
