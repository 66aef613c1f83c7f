"""The bookkeeping of a run: the loss curves, snapshots of G, the best G and the evaluation budget.

:class:`History` is what a run returns next to G. The small helpers below are what the
optimisation loop of :mod:`nst_helpers.transfer` uses to fill it without slowing it down: losses are
kept as small tensors and read in bulk (no device sync per evaluation), the best image is tracked
with ``torch.where`` (no ``if`` on a tensor), and the budget counts evaluations exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch

__all__ = ["BestImage", "BudgetSpent", "EvaluationBudget", "History", "Recorder", "StopRun"]


@dataclass
class History:
    """What happened during a run, one entry per objective evaluation.

    Attributes
    ----------
    total, content, style
        Lists of floats: L, L_content and L_style at each evaluation (in
        order; ``total[k]`` is the loss at evaluation ``k + 1``).
    layers
        Per-layer losses: ``{"content_relu4_2": [...], "style_relu1_1": [...], ...}``.
    snapshots
        ``[(step, G)]``: G (``1 x 3 x H x W`` on the CPU, clamped to [0, 1]) as evaluated at
        evaluation ``step``, every ``every`` evaluations, plus the start (step 0) and the end
        (the last step: G after the final clamp).
    best_step, best_loss
        Evaluation with the lowest total loss; the returned G is the image at that evaluation.
    stopped
        ``None`` if all steps ran, else why the run ended early
        (``"interrupted"``, ``"callback"``, ``"non-finite loss"``).
    seconds
        Wall-clock time of the optimisation (targets and model building excluded).
    settings
        The parameters of the run: :meth:`TransferConfig.as_dict() <nst_helpers.config.TransferConfig.as_dict>`
        of the resolved config, plus what the run found: ``size`` (H, W of G), ``style_layer_weights``
        (the numbers used), ``precision`` and ``device`` (as resolved).
    """

    total: list[float] = field(default_factory=list)
    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)
    layers: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    best_step: int = 0
    best_loss: float = math.inf
    stopped: str | None = None
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    #: The resolved :class:`~nst_helpers.config.TransferConfig` of the run (None for a history built by hand).
    config: object | None = field(default=None, repr=False)

    @property
    def steps(self) -> int:
        """Number of objective evaluations done."""
        return len(self.total)

    def snapshot_at(self, step: int) -> tuple[int, torch.Tensor]:
        """The snapshot taken at ``step`` or, if none, the last one before it."""
        if not self.snapshots:
            raise ValueError("This run kept no snapshots.")
        best = self.snapshots[0]
        for s in self.snapshots:
            if s[0] <= step:
                best = s
        return best

    def copy(self) -> History:
        """A copy whose lists can grow or be read while this one is still being filled (snapshots shared)."""
        return replace(self, total=list(self.total), content=list(self.content), style=list(self.style),
                       layers={k: list(v) for k, v in self.layers.items()}, snapshots=list(self.snapshots),
                       settings=dict(self.settings))

    def append_stage(self, stage: History, first: bool) -> None:
        """Add a coarse-to-fine stage's evaluations after this history's (its step numbers shifted)."""
        offset = self.steps
        self.total += stage.total
        self.content += stage.content
        self.style += stage.style
        for name, values in stage.layers.items():
            self.layers.setdefault(name, []).extend(values)
        self.snapshots += [(offset + step, img) for step, img in stage.snapshots if first or step > 0]
        # losses at another size are not comparable: the best image is the last stage's best
        self.best_loss, self.best_step = stage.best_loss, offset + stage.best_step
        self.seconds += stage.seconds
        self.stopped = stage.stopped


class BudgetSpent(Exception):
    """Raised by :meth:`EvaluationBudget.spend` when every allowed evaluation has been used."""


class StopRun(Exception):
    """Raised inside the closure to end a run early; ``reason`` goes into :attr:`History.stopped`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class EvaluationBudget:
    """Exactly ``steps`` evaluations, even in the middle of an L-BFGS line search."""

    steps: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.steps - self.used

    def spend(self) -> int:
        """Count one evaluation and return its number (1, 2, ...); raise BudgetSpent when none is left."""
        if self.used >= self.steps:
            raise BudgetSpent
        self.used += 1
        return self.used


class BestImage:
    """The evaluated G with the lowest loss so far, tracked on the device without a sync."""

    def __init__(self, G: torch.Tensor) -> None:
        self.loss = torch.tensor(math.inf, device=G.device)
        self.image = G.detach().clone()
        self.step = torch.zeros((), device=G.device)

    def update(self, L: torch.Tensor, G: torch.Tensor, step: int) -> None:
        with torch.no_grad():
            better = L < self.loss  # False for NaN: a NaN never becomes the best
            self.loss = torch.where(better, L, self.loss)
            self.image = torch.where(better, G.detach(), self.image)
            self.step = torch.where(better, torch.full((), float(step), device=G.device), self.step)


class Recorder:
    """Fills a :class:`History`: losses in bulk, snapshots every ``every`` evaluations, the callback.

    ``callback(step, G, history)`` gets a copy of G after every snapshot; returning True stops the run.
    Taking snapshots never changes what is computed: they are copies.
    """

    def __init__(self, history: History, layer_names: Sequence[str], every: int,
                 callback: Callable[[int, torch.Tensor, History], bool | None] | None = None) -> None:
        self.history, self.layer_names, self.every, self.callback = history, list(layer_names), every, callback
        self.pending: list[torch.Tensor] = []  # one small tensor per evaluation, read in bulk
        for name in self.layer_names:
            history.layers.setdefault(name, [])

    @property
    def evaluations(self) -> int:
        return self.history.steps + len(self.pending)

    def record(self, step: int, G: torch.Tensor, losses: Sequence[torch.Tensor]) -> None:
        """Keep this evaluation's losses (L, L_content, L_style, then per layer); snapshot if it is time."""
        with torch.no_grad():
            self.pending.append(torch.stack([v.detach() for v in losses]).float())
        if step % self.every == 0:
            self.snapshot(step, G)

    def snapshot(self, step: int, G: torch.Tensor) -> None:
        """Flush, keep a copy of G (clamped for display), call the callback; StopRun if the run must end."""
        if not self.flush():
            raise StopRun("non-finite loss")
        image = G.detach().clamp(0.0, 1.0).to("cpu", copy=True)
        self.history.snapshots.append((step, image))
        if self.callback is not None and self.callback(step, image, self.history):
            raise StopRun("callback")

    def flush(self) -> bool:
        """Move the recorded losses into the history; False if one of them is NaN or infinite."""
        if not self.pending:
            return True
        values = torch.stack(self.pending).cpu().tolist()
        self.pending.clear()
        h = self.history
        for row in values:
            h.total.append(row[0])
            h.content.append(row[1])
            h.style.append(row[2])
            for name, v in zip(self.layer_names, row[3:]):
                h.layers[name].append(v)
        return all(math.isfinite(row[0]) for row in values)

    def finish(self, G: torch.Tensor) -> None:
        """The end state as the last snapshot (replacing one taken at the same step); the callback sees it
        too if the run ended on its own between two snapshots."""
        self.flush()
        step, image = self.history.steps, G.detach().clamp(0.0, 1.0).to("cpu", copy=True)
        snaps = self.history.snapshots
        if snaps[-1][0] == step:
            if step > 0:
                snaps[-1] = (step, image)
            return
        snaps.append((step, image))
        if self.callback is not None and self.history.stopped is None:
            self.callback(step, image, self.history)
