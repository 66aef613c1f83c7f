"""Does bfloat16 pay? Same run in float32 and in bfloat16, both judged by the float32 objective.

``run_style_transfer(precision="bfloat16")`` runs the forward pass under autocast (convolutions and
Gram products in bfloat16); its own loss values are bfloat16 estimates. To compare fairly, every
snapshot of both runs is re-evaluated with the float32 objective afterwards. Reported per size:
seconds per evaluation, the float32 loss of each snapshot, the wall time each run needs to reach the
float32 run's final loss, and how different the two final images are (mean absolute pixel difference,
0..1 scale; for scale, two float32 runs from C and from C plus noise differ by about 0.05).

Usage::

    python benchmarks/bench_precision.py --size 256 512 --steps 150
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_speed import images, save_json  # noqa: E402

from nst_helpers import build_model  # noqa: E402
from nst_helpers.transfer import bf16_is_fast, run_style_transfer  # noqa: E402


def objective(C, S):
    """The default objective (alpha = 1, beta = 30, equal layer weights) in float32, as a function of G."""
    model, cl, sl = build_model(C, S)

    @torch.no_grad()
    def f(G: torch.Tensor) -> float:
        model(G)
        return float(cl[0].loss + 30 * sum(s.loss for s in sl) / len(sl))

    return f


def timed(C, S, steps: int, precision: str) -> dict:
    stamps = {0: 0.0}
    start = time.perf_counter()

    def cb(step, G, history):
        stamps[step] = time.perf_counter() - start

    G, h = run_style_transfer(C, S, steps=steps, every=5, progress=False, callback=cb, precision=precision)
    snaps = [(k, img) for k, img in h.snapshots if k in stamps]
    return dict(G=G, snaps=snaps, stamps=stamps, seconds=h.seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, nargs="+", default=[256, 512])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    print(f"bfloat16 native on this CPU: {bf16_is_fast(torch.device('cpu'))}")
    rows = []
    for size in args.size:
        C, S = images(size)
        f = objective(C, S)
        runs = {prec: timed(C, S, args.steps, prec) for prec in ("float32", "bfloat16")}
        curves = {prec: [(k, r["stamps"][k], f(img)) for k, img in r["snaps"]] for prec, r in runs.items()}
        target = min(v for _, _, v in curves["float32"])
        reach = {prec: next((t for _, t, v in c if v <= target * 1.0001), None) for prec, c in curves.items()}
        best = {prec: min(v for _, _, v in c) for prec, c in curves.items()}
        row = dict(size=f"{C.shape[-1]}x{C.shape[-2]}", steps=args.steps,
                   s_per_eval={k: r["seconds"] / args.steps for k, r in runs.items()},
                   best_fp32_loss=best, time_to_fp32_final=reach,
                   loss_ratio=best["bfloat16"] / best["float32"],
                   pixel_mad=float((runs["float32"]["G"] - runs["bfloat16"]["G"]).abs().mean()),
                   curves=curves)
        rows.append(row)
        speed = row["s_per_eval"]["float32"] / row["s_per_eval"]["bfloat16"]
        rt = reach["bfloat16"]
        spe = row["s_per_eval"]
        print(f"{row['size']}: s/eval fp32 {spe['float32']:.3f}, bf16 {spe['bfloat16']:.3f} "
              f"(x{speed:.2f}); best fp32 loss fp32 {best['float32']:.4g}, bf16 {best['bfloat16']:.4g} "
              f"(ratio {row['loss_ratio']:.3f}); time to fp32's final loss: fp32 {reach['float32']:.0f} s, bf16 "
              f"{'not reached' if rt is None else f'{rt:.0f} s'}; mean |pixel diff| {row['pixel_mad']:.4f}",
              flush=True)
    print(f"wrote {save_json(args.out, 'precision', rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
