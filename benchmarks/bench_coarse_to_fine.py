"""Choose the coarse-to-fine schedule by measurement: wall time to reach a given loss at the target size.

For a target size (long side, default 512) it runs, one after the other in the same process:

* ``single``: one run at the target size for ``--steps`` evaluations (the reference);
* each schedule of ``--schedules`` (for example ``256,512`` or ``128,256,512``): the same budget of
  evaluations split evenly over the stages, each stage starting from the upsampled result of the last.

All runs use the package defaults (alpha = 1, beta = 30, relu4_2 / relu1_1..relu5_1, L-BFGS, init = C)
on the paper's pair (Tuebingen + The Starry Night) when ``../shared/data`` has it, else on bundled images.
Only the losses of the *last* stage are comparable with the single run (same size, same objective), so
"time to reach" counts from the start of the whole run but looks at the last stage's evaluations.

Reported for each schedule: the time it needs to reach the loss the single run had after 1/3, 2/3 and all
of its evaluations, the ratio to the single run's time for the same loss, and the final loss.

Usage::

    python benchmarks/bench_coarse_to_fine.py --size 512 --steps 300 --schedules 256,512 128,256,512
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_speed import images, per_eval_times, save_json, time_to_reach  # noqa: E402

from nst_helpers import run_style_transfer  # noqa: E402


def timed_run(C, S, steps: int, scales=None) -> dict:
    """Losses and the wall time at each evaluation (interpolated between the callbacks)."""
    stamps: dict[int, float] = {}
    start = time.perf_counter()

    def cb(step, G, history):
        stamps[step] = time.perf_counter() - start

    G, h = run_style_transfer(C, S, steps=steps, every=5, progress=False, callback=cb, scales=scales)
    times = per_eval_times(stamps)
    final_from = (steps // len(scales)) * (len(scales) - 1) if scales else 0
    return dict(losses=h.total, times=times, final_stage_from=final_from, wall=time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--schedules", nargs="+", default=["256,512", "128,256,512"])
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    C, S = images(args.size)
    runs = {"single": timed_run(C, S, args.steps)}
    print(f"single: {runs['single']['wall']:.0f} s, final {runs['single']['losses'][-1]:.4g}", flush=True)
    for sched in args.schedules:
        scales = [int(x) for x in sched.split(",")]
        runs[sched] = timed_run(C, S, args.steps, scales)
        print(f"{sched}: {runs[sched]['wall']:.0f} s, final {runs[sched]['losses'][-1]:.4g}", flush=True)
    ref = runs["single"]
    checkpoints = [args.steps // 3, 2 * args.steps // 3, args.steps]
    rows = []
    for name, run in runs.items():
        row = dict(schedule=name, wall_s=run["wall"], final=run["losses"][-1], reach={})
        for k in checkpoints:
            target = min(ref["losses"][:k])
            t_ref, _ = time_to_reach(ref, target)
            t, _ = time_to_reach(run, target, run["final_stage_from"])
            row["reach"][k] = dict(target=target, seconds=t, ratio=None if t is None else t_ref / t)
        rows.append(row)
    lines = [f"Target {C.shape[-1]}x{C.shape[-2]}, budget {args.steps} evaluations", "",
             "| schedule | wall time | final loss | " + " | ".join(
                 f"time to single's loss @{k} (speed-up)" for k in checkpoints) + " |",
             "| --- " * (3 + len(checkpoints)) + "|"]
    for row in rows:
        cells = []
        for k in checkpoints:
            r = row["reach"][k]
            cells.append("not reached" if r["seconds"] is None else f"{r['seconds']:.0f} s (x{r['ratio']:.2f})")
        lines.append(f"| {row['schedule']} | {row['wall_s']:.0f} s | {row['final']:.4g} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    path = save_json(args.out, "coarse-to-fine", dict(
        size=args.size, steps=args.steps, rows=rows,
        runs={k: dict(losses=v["losses"], times=v["times"]) for k, v in runs.items()}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
