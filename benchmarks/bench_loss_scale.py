"""Does dividing the loss by L(G0) change what L-BFGS does? The same run with and without the factor.

The package's closure (``nst_helpers.transfer.optimize``) hands L-BFGS ``L / L(G0)``, not ``L``. In exact
arithmetic L-BFGS is invariant to a constant factor on the objective, with one exception in torch's
implementation: the very first trial step is ``t = lr * min(1, 1 / ||g||_1)`` along ``d = -g``, so G first
moves by an L1 length of ``lr * min(1, ||g||_1)``: the same for every factor that keeps ``||g||_1 >= 1``, shorter
for one that pushes it below 1. (Its absolute thresholds, ``tolerance_grad``, ``tolerance_change`` and the
curvature test ``y.s > 1e-10``, are scale-dependent too; the package sets the first two to 0.) Floating-point
error is relative, so a constant factor does not make the arithmetic more or less exact either.

This script runs the package's own ``run_style_transfer`` (one scale, float32) with the factor replaced:

* ``1/L(G0)``  the package as it is;
* ``1``        the raw loss;
* ``2^-20``    a power of two: multiplying by it is exact in floating point, and ``||g||_1`` stays above 1;
* ``2^-30``    a power of two that pushes ``||g||_1`` below 1: only the first step changes.

for two objectives: the paper's (equal layer weights, beta 30, no smoothness term) and the package's
defaults (balanced layer weights, beta 3e6, the smoothness term). It prints, per run, ``||g||_1`` of the
loss L-BFGS sees at G0, the L1 length of the first trial step, the best loss after some evaluations, and
for how many evaluations the losses equal the raw run's (relative difference under 1e-6).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_loss_scale.py                # 128 px, 60 evaluations, 2-4 minutes
    python benchmarks/bench_loss_scale.py --size 192 --steps 80
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nst_helpers.transfer as transfer  # noqa: E402
from nst_helpers import bundled_image, load_image, run_style_transfer  # noqa: E402

OBJECTIVES = {
    "paper: equal weights, beta 30": dict(beta=30.0, style_layer_weights="equal", tv_weight=0.0),
    "defaults: balanced, beta 3e6, smoothness": dict(),
}
FACTORS = {"1/L(G0)": None, "1": 1.0, "2^-20": 2.0**-20, "2^-30": 2.0**-30}


class _Probe:
    """Stands in for ``transfer.LossScale``: a chosen factor, and ||g||_1 of the scaled loss at G0."""

    factor: float | None = None
    G: torch.Tensor | None = None
    grad_l1: float = float("nan")

    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def of(self, L: torch.Tensor) -> torch.Tensor:
        if self.value is None:
            f = _Probe.factor
            self.value = 1.0 / L.detach() if f is None else torch.tensor(f, dtype=L.dtype, device=L.device)
            (g,) = torch.autograd.grad(L * self.value, _Probe.G, retain_graph=True)
            _Probe.grad_l1 = g.abs().sum().item()
        return self.value


def run(C, S, steps: int, factor: float | None, settings: dict) -> tuple[np.ndarray, float, float]:
    """Losses per evaluation (unscaled), ||g||_1 at G0 as L-BFGS sees it, wall time."""
    original_scale, original_make = transfer.LossScale, transfer.make_optimizer

    def make_optimizer(config, G):
        _Probe.G = G
        return original_make(config, G)

    _Probe.factor = factor
    transfer.LossScale, transfer.make_optimizer = _Probe, make_optimizer
    try:
        start = time.perf_counter()
        _, h = run_style_transfer(C, S, steps=steps, scales=None, precision="float32", progress=False, **settings)
        seconds = time.perf_counter() - start
    finally:
        transfer.LossScale, transfer.make_optimizer = original_scale, original_make
    return np.array(h.total), _Probe.grad_l1, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=128, help="long side in pixels (default 128)")
    p.add_argument("--steps", type=int, default=60, help="evaluations per run (default 60)")
    p.add_argument("--content", default="tubingen")
    p.add_argument("--style", default="starry_night")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    C = load_image(bundled_image(args.content, "content"), args.size)
    S = load_image(bundled_image(args.style, "style"), args.size)
    marks = sorted({k for k in (5, 10, 20) if k < args.steps} | {args.steps})
    print(f"{args.content} + {args.style}, {C.shape[-1]} x {C.shape[-2]} px, {args.steps} evaluations per run, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)\n")
    head = (f"{'objective':<42} {'factor':>8} {'||g||_1':>9} {'1st step':>8} "
            + " ".join(f"{'best@' + str(k):>9}" for k in marks) + f" {'same as raw':>11} {'time':>6}")
    print(head)
    print("-" * len(head))
    for objective, settings in OBJECTIVES.items():
        raw = None
        rows = []
        for name, factor in FACTORS.items():
            losses, grad_l1, seconds = run(C, S, args.steps, factor, settings)
            if name == "1":
                raw = losses
            rows.append((name, losses, grad_l1, seconds))
        for name, losses, grad_l1, seconds in rows:
            best = np.minimum.accumulate(losses)
            rel = np.abs(losses / raw - 1.0)
            same = int(np.argmax(rel > 1e-6)) if (rel > 1e-6).any() else len(losses)
            print(f"{objective:<42} {name:>8} {grad_l1:9.3g} {min(1.0, grad_l1):8.3g} "
                  + " ".join(f"{best[k - 1]:9.4g}" for k in marks) + f" {same:>5} evals {seconds:5.0f}s")
        print()
    print("||g||_1: L1 norm of the gradient of the loss L-BFGS minimises, at G0 (= C). 1st step: the L1 length "
          "lr * min(1, ||g||_1) of torch's first trial step (lr = 1).\nbest@k: the lowest unscaled loss among the "
          "first k evaluations. same as raw: evaluations whose loss equals the raw run's (relative difference < 1e-6).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
