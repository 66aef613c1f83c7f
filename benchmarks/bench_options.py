"""Which speed options pay on this machine? Time per objective evaluation under each option.

Each option is measured in the same process, alternating (round-robin) so that a change in the machine's
load hits all options alike. For each option it reports the median seconds per evaluation (forward
through the trimmed model + backward to the image), the ratio to the plain float32 baseline, and how far
the loss and the gradient move from the baseline's (an option that changes the result more than the
stated tolerance is not a free speed-up).

Options:

* ``baseline``      float32, contiguous (NCHW) tensors, torch's default thread count
* ``channels_last`` model weights and image in channels-last (NHWC) memory format
* ``threads=1``     ``torch.set_num_threads(1)`` (is the second core worth it?)
* ``bf16``          ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the forward pass
* ``compile``       ``torch.compile(model)`` (skipped with a reason if it fails on this machine)

Usage::

    python benchmarks/bench_options.py --size 256 512 --repeats 7
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_speed import images, save_json  # noqa: E402

from nst_helpers import build_model  # noqa: E402


def make_eval(option: str, C: torch.Tensor, S: torch.Tensor):
    """A zero-argument function doing one evaluation under ``option``; returns (loss, grad)."""
    model, cl, sl = build_model(C, S)
    G = C.clone()
    autocast = option == "bf16"
    if option == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        G = G.contiguous(memory_format=torch.channels_last)
    if option == "compile":
        model = torch.compile(model)
    G.requires_grad_(True)
    weights = [0.2] * len(sl)

    def evaluation():
        G.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            model(G)
        loss = cl[0].loss.float() + 30 * sum(w * s.loss.float() for w, s in zip(weights, sl))
        loss.backward()
        return loss.detach(), G.grad.detach().clone()

    return evaluation


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, nargs="+", default=[256, 512])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--options", nargs="+", default=["baseline", "channels_last", "threads=1", "bf16", "compile"])
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    default_threads = torch.get_num_threads()
    result = dict(machine=dict(cpu=platform.processor() or platform.machine(), threads=default_threads,
                               torch=torch.__version__), sizes=[])
    for size in args.size:
        C, S = images(size)
        evals, skipped = {}, {}
        for option in args.options:
            try:
                fn = make_eval(option, C, S)
                torch.set_num_threads(1 if option == "threads=1" else default_threads)
                fn(), fn()  # warm-up (compilation, allocator)
                evals[option] = fn
            except Exception as exc:  # noqa: BLE001 - report why an option cannot run here, keep going
                skipped[option] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                print(f"{size}px {option}: skipped ({skipped[option]})", flush=True)
        times = {o: [] for o in evals}
        outputs = {}
        for _ in range(args.repeats):
            for option, fn in evals.items():
                torch.set_num_threads(1 if option == "threads=1" else default_threads)
                t = time.perf_counter()
                outputs[option] = fn()
                times[option].append(time.perf_counter() - t)
        torch.set_num_threads(default_threads)
        base_t = statistics.median(times["baseline"])
        base_loss, base_grad = outputs["baseline"]
        rows = []
        for option in evals:
            loss, grad = outputs[option]
            med = statistics.median(times[option])
            rows.append(dict(option=option, median_s=med, speedup=base_t / med,
                             loss_rel_diff=float((loss - base_loss).abs() / base_loss),
                             grad_rel_diff=float((grad - base_grad).norm() / base_grad.norm())))
            print(f"{C.shape[-1]}x{C.shape[-2]} {option:14s} {med:.3f} s/eval  x{base_t / med:.2f}  "
                  f"loss diff {rows[-1]['loss_rel_diff']:.1e}  grad diff {rows[-1]['grad_rel_diff']:.1e}", flush=True)
        result["sizes"].append(dict(size=f"{C.shape[-1]}x{C.shape[-2]}", rows=rows, skipped=skipped))
    print(f"wrote {save_json(args.out, 'options', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
