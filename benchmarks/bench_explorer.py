#!/usr/bin/env python3
"""How quickly does the explorer answer a click? Time to first progress and to the finished result.

The requirement (on a 2-core laptop): the preview setting, 128 px with 50 L-BFGS steps,
shows its first progress within 2 s of the click on Run and finishes within
60 s. This script presses the real Run button of an :class:`Explorer` (the
same handler a browser click calls: it starts the background thread) and
watches the widgets from the outside:

* ``ack``: the click handler has returned (the readout says "starting");
* ``first progress``: the progress bar first moves (the same moment the
  preview shows the first new G);
* ``first preview``: the preview image first changes;
* ``done``: the background thread has ended and the result is cached.

Each measured run uses a new beta (so none is a cache hit). The first click
comes right after the explorer is built (``cold``: the VGG19 weights are
still being decoded in the background, as when a student clicks at once);
it is reported separately and not in the medians.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_explorer.py                 # 5 runs, 128 px, 50 L-BFGS steps
    .venv/bin/python benchmarks/bench_explorer.py --runs 7 --size 256 --steps 50

It prints a table and the medians, and writes the raw figures as JSON to
``benchmarks/results/bench_explorer_<time>.json``. Other processes on the
machine slow it down: the JSON records the load average before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST_PROGRESS_LIMIT_S = 2.0
DONE_LIMIT_S = 60.0


def measure_click(ex) -> dict:
    """Press Run once and time what the user sees; returns the figures in seconds from the click."""
    marks: dict[str, float] = {}
    lock = threading.Lock()

    def mark(name):
        def observer(change):
            with lock:
                if name not in marks and (name != "first_progress" or change["new"] > 0):
                    marks[name] = time.perf_counter()
        return observer

    on_progress, on_preview = mark("first_progress"), mark("first_preview")
    ex.progress.observe(on_progress, "value")
    ex.viewer.image.observe(on_preview, "value")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    runs_before = ex.runs
    t0 = time.perf_counter()
    ex.run_button.click()
    ack = time.perf_counter()
    if not ex.wait(600):
        raise SystemExit("A run did not finish within 600 s.")
    done = time.perf_counter()
    ex.progress.unobserve(on_progress, "value")
    ex.viewer.image.unobserve(on_preview, "value")
    if ex.runs != runs_before + 1 or ex.last_error is not None:
        raise SystemExit(f"The run did not optimise as expected (error: {ex.last_error!r}).")
    h = ex.history
    return {
        "beta": ex.settings()["beta"],
        "ack_s": ack - t0,
        "first_progress_s": marks.get("first_progress", float("nan")) - t0,
        "first_preview_s": marks.get("first_preview", float("nan")) - t0,
        "done_s": done - t0,
        "optimisation_s": h.seconds,
        "seconds_per_evaluation": h.seconds / max(h.steps, 1),
        "evaluations": h.steps,
        "snapshot_every": ex.session.every_for(h.steps),
        "load_average_1min_before": load,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (after the cold one), default 5")
    parser.add_argument("--size", type=int, default=128, help="long side in pixels, default 128")
    parser.add_argument("--steps", type=int, default=50, help="objective evaluations per run, default 50 "
                        "(the explorer's EXPLORER_STEPS)")
    parser.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="folder for the JSON")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from nst_helpers.widgets import BETA_VALUES, Explorer

    t_import = time.perf_counter() - t_start
    t0 = time.perf_counter()
    ex = Explorer(size=args.size, steps=args.steps, optimizer=args.optimizer, warm_up=True)
    t_build = time.perf_counter() - t0
    start = BETA_VALUES.index(1e5)  # distinct settings around DEFAULT_BETA, so that no run is a cache hit
    betas = list(BETA_VALUES[start:start + args.runs + 1])
    if len(betas) < args.runs + 1:
        raise SystemExit(f"At most {len(BETA_VALUES) - start - 1} runs: there are not enough distinct beta stops.")

    print(f"explorer benchmark: {args.size} px, {args.steps} {args.optimizer} steps, {args.runs} runs + 1 cold; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(f"import {t_import:.2f} s, building the explorer {t_build:.2f} s")
    rows = []
    header = f"{'run':>5} {'beta':>6} {'ack':>7} {'1st progress':>13} {'1st preview':>12} {'done':>8} " \
             f"{'s/eval':>7} {'load':>5}"
    print(header)
    for i, beta in enumerate(betas):
        ex.set(beta=beta)
        row = measure_click(ex)
        row["cold"] = i == 0
        rows.append(row)
        load = row["load_average_1min_before"]
        print(f"{'cold' if i == 0 else i:>5} {beta:>6g} {row['ack_s']:>6.3f}s {row['first_progress_s']:>12.2f}s "
              f"{row['first_preview_s']:>11.2f}s {row['done_s']:>7.2f}s {row['seconds_per_evaluation']:>6.3f}s "
              f"{load if load is not None else float('nan'):>5.1f}")

    warm = [r for r in rows if not r["cold"]]
    medians = {k: statistics.median(r[k] for r in warm)
               for k in ("ack_s", "first_progress_s", "first_preview_s", "done_s", "seconds_per_evaluation")}
    verdict = {
        "first_progress_within_2s": medians["first_progress_s"] <= FIRST_PROGRESS_LIMIT_S,
        "done_within_60s": medians["done_s"] <= DONE_LIMIT_S,
    }
    print(f"median of {len(warm)} runs: first progress {medians['first_progress_s']:.2f} s "
          f"(limit {FIRST_PROGRESS_LIMIT_S:g} s), done {medians['done_s']:.2f} s (limit {DONE_LIMIT_S:g} s), "
          f"{medians['seconds_per_evaluation']:.3f} s per evaluation")
    print(f"cold first click: first progress {rows[0]['first_progress_s']:.2f} s, done {rows[0]['done_s']:.2f} s")
    print("requirement: " + ", ".join(f"{k} {'OK' if v else 'NOT MET'}" for k, v in verdict.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"bench_explorer_{stamp}.json"
    out.write_text(json.dumps({
        "benchmark": "explorer click -> first progress -> done",
        "when_utc": stamp,
        "settings": {"size": args.size, "steps": args.steps, "optimizer": args.optimizer, "runs": args.runs},
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "import_s": t_import,
        "build_s": t_build,
        "runs": rows,
        "medians_warm": medians,
        "limits_s": {"first_progress": FIRST_PROGRESS_LIMIT_S, "done": DONE_LIMIT_S},
        "verdict": verdict,
    }, indent=1))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
