"""Coarse-to-fine (Gatys et al. 2017): optimise G at a small size first, then refine it at larger ones.

A wrapper around one ordinary transfer (``stage``): each stage starts from the previous stage's
G, upsampled, and has half the evaluations of the stage before it (a quarter of the pixels' cost),
so most evaluations happen at low resolution, where the large brush strokes form cheaply.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .history import History
from .images import ImageSource, load_image
from .model import min_image_side

__all__ = ["AUTO_SMALLEST_SIDE", "auto_scales", "coarse_to_fine", "content_and_sides", "stage_steps"]

#: Smallest long side of the automatic coarse-to-fine schedule (:func:`auto_scales`).
AUTO_SMALLEST_SIDE = 128


def auto_scales(side: int, smallest: int = AUTO_SMALLEST_SIDE) -> list[int]:
    """The default coarse-to-fine schedule for a long side: halve it while it stays >= ``smallest``.

    >>> auto_scales(512), auto_scales(256), auto_scales(128)
    ([128, 256, 512], [128, 256], [128])
    """
    sides = [int(side)]
    while sides[0] // 2 >= smallest:
        sides.insert(0, sides[0] // 2)
    return sides


def stage_steps(steps: int, stages: int) -> list[int]:
    """Split ``steps`` evaluations over coarse-to-fine stages, each with half the evaluations of the one before.

    >>> stage_steps(300, 3)
    [171, 85, 44]
    """
    shares = [2.0 ** (stages - 1 - k) for k in range(stages)]
    per = [max(1, int(steps * w / sum(shares))) for w in shares]
    per[-1] += steps - sum(per)
    return per


def content_and_sides(content: ImageSource, config) -> tuple[torch.Tensor, list[int] | None]:
    """C at the size it is loaded at, and the long sides of the stages (``None``: one scale, C's size).

    ``config.scales == "auto"``: :func:`auto_scales` of C's long side, without the coarsest stages that
    the budget (one evaluation per stage at least) or the deepest layer (feature maps >= 2 x 2) cannot take.
    """
    if config.scales is None:
        return load_image(content, config.size), None
    if config.scales == "auto":
        C = load_image(content, config.size)
        h, w = C.shape[-2:]
        sides = auto_scales(max(h, w))
        need = min_image_side(list(config.content_layers) + list(config.style_layers))
        while len(sides) > 1 and (len(sides) > config.steps or sides[0] * min(h, w) / max(h, w) < need):
            sides.pop(0)
    else:
        sides = list(config.scales)
        C = content if len(sides) == 1 else load_image(content, config.size)
    if len(sides) == 1:  # one stage: just that size
        return load_image(C, sides[0]), None
    return C, sides


def coarse_to_fine(C: torch.Tensor, sides: list[int], steps: int, init, stage: Callable,
                   callback: Callable | None = None) -> tuple[torch.Tensor, History]:
    """Run ``stage(C_k, steps=n_k, init=..., callback=...)`` at each long side in turn; G gets the last size.

    ``stage`` returns ``(G, history)``; the histories are joined into one, with the evaluations
    numbered across all stages (a callback sees the joined step numbers).
    """
    merged = History()
    G, first_init = None, None
    for k, (side, n) in enumerate(zip(sides, stage_steps(steps, len(sides)))):
        offset = merged.steps
        stage_cb = None if callback is None else (lambda step, img, h, o=offset: callback(o + step, img, h))
        G, h = stage(load_image(C, side), steps=n, init=init if k == 0 else G, callback=stage_cb)
        merged.append_stage(h, first=k == 0)
        first_init = h.settings.get("init") if k == 0 else first_init
        merged.settings = {**h.settings, "scales": list(sides), "steps": steps, "init": first_init}
        if h.stopped:
            break
    return G, merged
