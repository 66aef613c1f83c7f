"""Speed and memory of one style transfer, against the machine and against a peer (pastiche).

Run with ``make bench`` (full) or ``make bench-quick`` (small sizes, a few evaluations, < 3 min).
Results: a Markdown table on stdout and JSON in ``benchmarks/results/``.

1. Against the machine: the FLOPs of one objective evaluation (forward through the trimmed model
   plus backward to the image, counted from the layer shapes), divided by its median time, next to
   the throughput of the same convolutions measured alone (forward + backward to their input) in
   the same run. Ratio = GFLOP/s of the evaluation / GFLOP/s of the convolutions alone (1.0 = the whole
   evaluation, Gram products included, runs at the speed of bare convolutions); ``time_ratio`` in the
   JSON is conv-alone time / evaluation time (the share of the time spent in convolutions).
2. Against pastiche (same quantised Caffe VGG19 weights): both minimise the *same* objective,
   pastiche's default one, ``0.01 * MSE(content relu4_2) + sum_l 10/N_l^2 * MSE(Gram_pastiche)``
   over relu1_1..relu5_1, which equals ours with ``alpha=0.01, beta=10, style_layer_weights=[1]*5``
   (pastiche's Gram is ``N`` times ours). Same images (resized once by us and handed to both),
   same init (the content), L-BFGS, no TV. We report time per evaluation and the wall time each
   needs to reach the objective pastiche reaches after its budget of evaluations; runs alternate.
3. Memory: what a run adds on top of ``import torch``, each in a fresh process: the peak RSS (with and
   without :func:`nst_helpers.runtime.return_freed_memory`) and the peak of private (anonymous) memory, the
   part a JupyterHub pays per kernel (the weights file and torch's code pages are shared between processes).
4. Layouts and precisions per evaluation (issue 17): float32 NCHW against float32 channels-last (what
   ``precision="auto"`` uses on a CPU without native bfloat16), and the bfloat16 path against the same VGG19
   layers alone in pure bfloat16 channels-last (the ceiling of that path; meaningful where bfloat16 is
   native, e.g. AVX512-BF16/AMX: elsewhere bfloat16 is emulated and the figure says so).
5. Per evaluation against pastiche at 128 to 512 px (short runs, alternating), one scale, float32, and the
   cost of the per-evaluation bookkeeping (our whole loop against a bare forward + backward).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_helpers import build_model, load_image, run_style_transfer, save_image  # noqa: E402
from nst_helpers.images import resize_to  # noqa: E402
from nst_helpers.losses import StyleLoss  # noqa: E402
from nst_helpers.transfer import _style_size  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PASTICHE_OBJECTIVE = dict(alpha=0.01, beta=10.0, style_layer_weights=[1.0] * 5)


def images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """C and S at ``size`` (long side), S at C's pixel count: the paper's pair from ../shared/data, else the
    bundled (reduced) copies of it."""
    c_path, s_path = DATA / "tubingen.jpg", DATA / "starry_night.jpg"
    if not c_path.exists():
        c_path, s_path = ROOT / "images/content/tubingen.jpg", ROOT / "images/style/starry_night.jpg"
    C = load_image(c_path, size)
    S = load_image(s_path)
    h, w = C.shape[-2:]
    scale = (h * w / (S.shape[-2] * S.shape[-1])) ** 0.5
    return C, resize_to(S, (round(S.shape[-2] * scale), round(S.shape[-1] * scale)))


# ----------------------------------------------------------------------------- 1. against the machine
def eval_flops(model: nn.Sequential, h: int, w: int) -> float:
    """FLOPs of one forward + backward-to-input pass through ``model`` for an h x w image."""
    flops = 0.0
    for m in model:
        if isinstance(m, nn.Conv2d):
            fwd = 2.0 * m.in_channels * m.out_channels * 9 * h * w
            flops += 2 * fwd  # forward + gradient w.r.t. the input (the weights are frozen)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            h, w = h // 2, w // 2
        elif isinstance(m, StyleLoss):
            n = m.target.shape[-1]
            flops += 3 * 2.0 * n * n * h * w  # Gram forward (1 matmul) + backward (2 matmuls)
    return flops


def _median_time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def conv_inputs(model: nn.Sequential, h: int, w: int) -> tuple[list[nn.Conv2d], list[tuple[int, int, int, int]]]:
    """The convolutions of ``model`` and the shape of each one's input for an h x w image."""
    convs, shapes = [], []
    for m in model:
        if isinstance(m, nn.Conv2d):
            convs.append(m)
            shapes.append((1, m.in_channels, h, w))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            h, w = h // 2, w // 2
    return convs, shapes


def bench_machine(size: int, repeats: int) -> dict:
    C, S = images(size)
    model, cl, sl = build_model(C, S)
    G = C.clone().requires_grad_(True)

    def evaluation():
        G.grad = None
        model(G)
        loss = cl[0].loss + sum(s.loss for s in sl)
        loss.backward()

    t_eval = _median_time(evaluation, repeats)
    convs, shapes = conv_inputs(model, *C.shape[-2:])
    inputs = [torch.randn(s, requires_grad=True) for s in shapes]

    def convs_alone():
        for conv, x in zip(convs, inputs):
            x.grad = None
            conv(x).sum().backward()

    t_conv = _median_time(convs_alone, repeats)
    flops = eval_flops(model, *C.shape[-2:])
    conv_flops = sum(4.0 * c.in_channels * c.out_channels * 9 * s[2] * s[3] for c, s in zip(convs, shapes))
    return dict(size=f"{C.shape[-1]}x{C.shape[-2]}", eval_s=t_eval, conv_alone_s=t_conv, gflop_eval=flops / 1e9,
                gflops_eval=flops / t_eval / 1e9, gflops_conv_alone=conv_flops / t_conv / 1e9,
                ratio=(flops / t_eval) / (conv_flops / t_conv), time_ratio=t_conv / t_eval)


# ----------------------------------------------------------------------------- 2. against pastiche
def run_pastiche(c_png: Path, s_png: Path, hw: tuple[int, int], evals: int) -> dict:
    """pastiche's own loop: ``evals`` calls of ``draw()`` (one L-BFGS iteration = one evaluation each)."""
    from pastiche.pastiche import VGG_MEAN, PasticheArtist

    artist = PasticheArtist(str(c_png), [str(s_png)], size=list(hw), style_size=None, device="cpu")
    losses, stamps = [], []
    start = time.perf_counter()
    for _ in range(evals):
        artist.draw()  # max_iter=1: one closure evaluation per call
        losses.append(artist.loss)
        stamps.append(time.perf_counter() - start)
    # The image pastiche would save: undo its BGR / mean-subtracted 0..255 encoding, round, clamp (as its
    # save_image does). pastiche never clamps while optimising, so its loss is for pixels outside 0..255.
    x = artist.pastiche.detach().squeeze(0).clone()
    for channel, mean in enumerate(VGG_MEAN):
        x[channel] += mean
    raw = x[[2, 1, 0]].unsqueeze(0) / 255
    saved = (raw * 255).round().clamp(0, 255) / 255
    return dict(losses=losses, times=stamps, saved=saved, raw=raw)


def score(C: torch.Tensor, S: torch.Tensor, G: torch.Tensor) -> float:
    """Our float32 objective (pastiche's configuration) at the image G, pixels taken as they are (no clamping)."""
    model, cl, sl = build_model(C, S)
    with torch.no_grad():
        model(G)
    weights = PASTICHE_OBJECTIVE["style_layer_weights"]
    return float(PASTICHE_OBJECTIVE["alpha"] * cl[0].loss
                 + PASTICHE_OBJECTIVE["beta"] * sum(w * s.loss for w, s in zip(weights, sl)))


def run_ours(C: torch.Tensor, S: torch.Tensor, evals: int, target: float | None = None, **options) -> dict:
    """Our run (library defaults) of at most ``evals`` evaluations; it stops once its loss is <= ``target``."""
    stamps: dict[int, float] = {}
    start = time.perf_counter()

    def cb(step, G, history):
        stamps[step] = time.perf_counter() - start
        return target is not None and min(history.total) <= target

    G, h = run_style_transfer(C, S, steps=evals, progress=False, callback=cb, **PASTICHE_OBJECTIVE, **options)
    times = per_eval_times(stamps)
    return dict(losses=h.total, times=times, s_per_eval=times[-1] / len(times), precision=h.settings["precision"])


def per_eval_times(stamps: dict[int, float]) -> list[float]:
    """Wall time at each evaluation, from the times seen by a callback: interpolated between callbacks."""
    times, last_step, last_t = [], 0, 0.0
    for step in sorted(stamps):
        for k in range(last_step + 1, step + 1):
            times.append(last_t + (stamps[step] - last_t) * (k - last_step) / (step - last_step))
        last_step, last_t = step, stamps[step]
    return times


def save_json(out_dir: str | Path, prefix: str, data) -> Path:
    """Write ``data`` to ``out_dir/<prefix>-<local time>.json`` (the folder is made if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def time_to_reach(run: dict, target: float, start: int = 0) -> tuple[float | None, int | None]:
    """Wall time and number of evaluations until the loss is <= ``target`` (None, None if never)."""
    for k in range(start, len(run["losses"])):
        if run["losses"][k] <= target:
            return run["times"][k], k + 1
    return None, None


def bench_peer(size: int, evals: int) -> dict:
    """pastiche for ``evals`` evaluations, then ours (float32, then precision="auto") with the same budget.

    Two targets: ``saved``, the loss of the PNG pastiche writes (what its user gets), and ``own``, the loss
    pastiche reports for its last iterate (pixels outside the valid range, so lower than any valid image
    of the same quality may reach). Ours stop early once they reach ``own``.
    """
    C, S = images(size)
    with tempfile.TemporaryDirectory() as tmp:
        c_png, s_png = Path(tmp) / "c.png", Path(tmp) / "s.png"
        save_image(C, c_png)
        save_image(S, s_png)
        C, S = load_image(c_png), load_image(s_png)  # both see exactly the same 8-bit pixels
        hw = tuple(C.shape[-2:])
        theirs = run_pastiche(c_png, s_png, hw, evals)
        S_used = resize_to(S, _style_size(hw, tuple(S.shape[-2:]), 1.0))  # as run_style_transfer resizes it
        targets = dict(saved=score(C, S_used, theirs["saved"]), own=theirs["losses"][-1])
        # a check of the conversion: pastiche's own last iterate, scored by our objective, gives its own loss
        raw_score = score(C, S_used, theirs["raw"])
        ours = run_ours(C, S, evals, targets["own"])
        fast = run_ours(C, S, evals, targets["own"], precision="auto")
    t_theirs = theirs["times"][-1]
    out = dict(size=f"{hw[1]}x{hw[0]}", evals=evals, targets=targets, pastiche_s_per_eval=t_theirs / evals,
               pastiche_time=t_theirs, pastiche_first=theirs["losses"][0], ours_first=ours["losses"][0],
               pastiche_last_scored_by_us=raw_score)
    for name, run in (("ours", ours), ("fast", fast)):
        out[name] = dict(precision=run["precision"], s_per_eval=run["s_per_eval"], best=min(run["losses"]),
                         evals_run=len(run["losses"]))
        for key, target in targets.items():
            t, n = time_to_reach(run, target)
            out[name][key] = dict(seconds=t, evals=n, speedup=None if t is None else t_theirs / t)
    return out


# ----------------------------------------------------------------------------- 3. memory
MEMORY_SNIPPET = """
import resource, sys, threading, time
import torch
sys.path.insert(0, {root!r})

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

base_rss, base_anon, anon_peak, done = status("VmRSS"), status("RssAnon"), [0.0], []

def watch():  # the private (anonymous) memory has no high-water mark of its own: sample it
    while not done:
        anon_peak[0] = max(anon_peak[0], status("RssAnon"))
        time.sleep(0.005)

threading.Thread(target=watch, daemon=True).start()
from nst_helpers import load_image, run_style_transfer
C = load_image({content!r}, {size})
S = load_image({style!r}, {size})
run_style_transfer(C, S, steps={steps}, progress=False)
done.append(1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(base_rss, peak - base_rss, anon_peak[0] - base_anon)
"""


def bench_memory(size: int, steps: int, lean: bool = True) -> dict:
    """Peak RSS and peak private memory a run (defaults, ``steps`` evaluations) adds on top of ``import torch``."""
    c_path, s_path = DATA / "tubingen.jpg", DATA / "starry_night.jpg"
    if not c_path.exists():
        c_path, s_path = ROOT / "images/content/tubingen.jpg", ROOT / "images/style/starry_night.jpg"
    code = MEMORY_SNIPPET.format(root=str(ROOT), content=str(c_path), style=str(s_path), size=size, steps=steps)
    env = {**os.environ, "NST_LEAN_MEMORY": "1" if lean else "0"}  # 1: as inside a JupyterHub
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    torch_mb, peak_mb, private_mb = map(float, out.stdout.split()[-3:])
    return dict(size=size, steps=steps, lean=lean, import_torch_rss_mb=torch_mb, peak_rss_above_torch_mb=peak_mb,
                peak_private_above_torch_mb=private_mb)


# ----------------------------------------------------------------------------- 4. layouts and precisions
def _evaluation_fn(model, cl, sl, G, runtime):
    def evaluation():
        G.grad = None
        with runtime.autocast():
            model(runtime.network_input(G))
        (cl[0].loss + sum(s.loss for s in sl)).backward()
    return evaluation


def bench_layouts(size: int, repeats: int) -> dict:
    """Seconds per evaluation: float32 NCHW, float32 channels-last, bfloat16 path, and pure bfloat16 layers alone."""
    from nst_helpers.runtime import Runtime, bf16_is_fast

    C, S = images(size)
    out = dict(size=f"{C.shape[-1]}x{C.shape[-2]}", bf16_native=bf16_is_fast(torch.device("cpu")))
    fns = {}
    variants = [("float32", Runtime(torch.device("cpu"))),
                ("float32_channels_last", Runtime(torch.device("cpu"), channels_last=True))]
    if out["bf16_native"] or size <= 128:  # emulated bfloat16 takes minutes per evaluation at 512 px
        variants.append(("bfloat16_path", Runtime(torch.device("cpu"), bfloat16=True, channels_last=True)))
    for label, runtime in variants:
        model, cl, sl = build_model(C, S)
        fns[label] = _evaluation_fn(runtime.prepare(model), cl, sl, C.clone().requires_grad_(True), runtime)
    # the same layers (up to the deepest loss layer), no loss layers, weights and input in bfloat16, channels-last
    layers = nn.Sequential(*[m for m in build_model(C, S)[0] if not isinstance(m, (StyleLoss,))
                             and type(m).__name__ not in ("ContentLoss", "Normalization")])
    layers = layers.to(torch.bfloat16).to(memory_format=torch.channels_last)
    x = C.to(torch.bfloat16).contiguous(memory_format=torch.channels_last).requires_grad_(True)

    def pure_bf16():
        x.grad = None
        layers(x).float().sum().backward()

    if "bfloat16_path" in fns:
        fns["pure_bfloat16_layers"] = pure_bf16
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):  # alternate, so that a busy moment hits every variant alike
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    out.update({f"{k}_s": v for k, v in med.items()})
    out["channels_last_speedup"] = med["float32"] / med["float32_channels_last"]
    if "bfloat16_path" in med:
        out["bf16_path_vs_layers_alone"] = med["pure_bfloat16_layers"] / med["bfloat16_path"]
    return out


# ----------------------------------------------------------------------------- 5. per evaluation against pastiche
def bench_per_eval(size: int, evals: int, rounds: int) -> dict:
    """Seconds per evaluation of pastiche's loop, ours (run_style_transfer, one scale, float32) and a bare
    forward + backward of our model, alternating ``rounds`` times; medians."""
    C, S = images(size)
    with tempfile.TemporaryDirectory() as tmp:
        c_png, s_png = Path(tmp) / "c.png", Path(tmp) / "s.png"
        save_image(C, c_png)
        save_image(S, s_png)
        C, S = load_image(c_png), load_image(s_png)
        hw = tuple(C.shape[-2:])
        S_used = resize_to(S, _style_size(hw, tuple(S.shape[-2:]), 1.0))
        model, cl, sl = build_model(C, S_used)
        G = C.clone().requires_grad_(True)
        from nst_helpers.runtime import Runtime

        bare = _evaluation_fn(model, cl, sl, G, Runtime(torch.device("cpu")))
        times = dict(pastiche=[], ours=[], bare=[])
        for _ in range(rounds):
            # the optimisation loops only: pastiche's draw() calls, our optimize() (setup excluded for both)
            times["pastiche"].append(run_pastiche(c_png, s_png, hw, evals)["times"][-1] / evals)
            _, history = run_style_transfer(C, S, steps=evals, progress=False, scales=None, precision="float32",
                                            **PASTICHE_OBJECTIVE)
            times["ours"].append(history.seconds / history.steps)
            t = time.perf_counter()
            for _ in range(evals):
                bare()
            times["bare"].append((time.perf_counter() - t) / evals)
    med = {k: statistics.median(v) for k, v in times.items()}
    return dict(size=f"{hw[1]}x{hw[0]}", evals=evals, rounds=rounds, **{f"{k}_s": v for k, v in med.items()},
                ours_vs_pastiche=med["ours"] / med["pastiche"], bookkeeping_s=med["ours"] - med["bare"])


# ----------------------------------------------------------------------------- report
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and few evaluations (< 3 min)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    q = args.quick
    cfg = dict(machine_sizes=[128] if q else [256, 512], repeats=3 if q else 5,
               peer=[(128, 100)] if q else [(256, 300), (512, 300)],
               layouts=[128] if q else [128, 256, 512],
               per_eval=[(128, 10, 2)] if q else [(128, 20, 3), (192, 20, 3), (256, 10, 3), (512, 5, 3)],
               memory=[(256, 10)] if q else [(256, 50), (512, 30)])
    result = dict(machine=dict(cpu=_cpu_name(), threads=torch.get_num_threads(),
                               torch=torch.__version__, python=platform.python_version()),
                  quick=q, against_machine=[], layouts=[], per_eval=[], against_pastiche=[], memory=[])
    for size in cfg["machine_sizes"]:
        result["against_machine"].append(r := bench_machine(size, cfg["repeats"]))
        print(f"machine {r['size']}: eval {r['eval_s']:.3f} s, ratio {r['ratio']:.2f}", flush=True)
    for size in cfg["layouts"]:
        result["layouts"].append(r := bench_layouts(size, cfg["repeats"] + 2))
        print(f"layouts {r}", flush=True)
    for size, evals, rounds in cfg["per_eval"]:
        result["per_eval"].append(r := bench_per_eval(size, evals, rounds))
        print(f"per evaluation {r}", flush=True)
    for size, steps in cfg["memory"]:
        for lean in (True, False):
            result["memory"].append(r := bench_memory(size, steps, lean))
            print(f"memory {r}", flush=True)
    for size, evals in cfg["peer"]:
        result["against_pastiche"].append(r := bench_peer(size, evals))
        print(f"peer {r['size']}: {r}", flush=True)
    save_json(args.out, "speed-quick" if q else "speed", result)
    print(markdown(result))
    return 0


def _cpu_name() -> str:
    """The CPU's model name and the instruction sets that decide the fast path."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{name} ({os.cpu_count()} CPUs; {', '.join(isa) or 'no AVX2'})"


def _fmt(x, spec=".2f", unit=""):
    return "not reached" if x is None else f"{x:{spec}}{unit}"


def targets(r: dict) -> list[str]:
    """The issue's targets, each with the measured figure (where this run measured it)."""
    out = []
    at512 = [x for x in r["layouts"] if x["size"].startswith("512")]
    if at512 and "bf16_path_vs_layers_alone" not in at512[0]:
        out.append("1. bfloat16 path at 512 px: not measured, bfloat16 is emulated on this CPU (no AVX512-BF16/AMX): "
                   "precision='auto' runs float32 channels-last here")
    elif at512:
        x = at512[0]
        out.append(f"1. bfloat16 path at 512 px >= 0.8 of the same layers alone in pure bfloat16: "
                   f"{x['bf16_path_vs_layers_alone']:.2f}" + ("" if x["bf16_native"] else
                   " (bfloat16 is emulated on this CPU: not the fast path here, the figure says little)"))
    m512 = [x for x in r["against_machine"] if x["size"].startswith("512")]
    if m512:
        out.append(f"2a. float32 at 512 px >= 0.9 of its convolutions alone: {m512[0]['ratio']:.2f}")
    if r["per_eval"]:
        worst = max(r["per_eval"], key=lambda x: x["ours_vs_pastiche"])
        out.append(f"2b. no slower than pastiche per evaluation from 128 px up: worst ours / pastiche = "
                   f"{worst['ours_vs_pastiche']:.2f} at {worst['size']}")
    out.append("3. the explorer, 256 px / 50 evaluations within 10 s: `make bench-explorer` "
               "(benchmarks/bench_explorer.py --size 256)")
    m256 = [x for x in r["memory"] if x["size"] == 256 and x["lean"]]
    if m256:
        x = m256[0]
        out.append(f"4. a 256 px run adds <= 300 MB on top of import torch: peak RSS "
                   f"{x['peak_rss_above_torch_mb']:.0f} MB, private {x['peak_private_above_torch_mb']:.0f} MB")
    return out


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"Machine: {m['cpu']}, {m['threads']} torch threads, torch {m['torch']}, Python {m['python']}", "",
             "| size | GFLOP / eval | eval (median) | GFLOP/s eval | GFLOP/s convs alone | ratio |",
             "| --- | --- | --- | --- | --- | --- |"]
    for x in r["against_machine"]:
        lines.append(f"| {x['size']} | {x['gflop_eval']:.1f} | {x['eval_s']:.3f} s | {x['gflops_eval']:.0f} | "
                     f"{x['gflops_conv_alone']:.0f} | {x['ratio']:.2f} |")
    lines += ["", "Against pastiche (same weights, same objective, same images, L-BFGS, no TV; times to the loss "
              "of the PNG pastiche saves after its evaluations, and to the lower loss it reports for its unclamped "
              "last iterate):", "",
              "| size | who | s / eval | to pastiche's saved PNG | speed-up | to pastiche's own last loss | speed-up |",
              "| --- " * 7 + "|"]
    for x in r["against_pastiche"]:
        lines.append(f"| {x['size']} | pastiche | {x['pastiche_s_per_eval']:.3f} | {x['pastiche_time']:.0f} s "
                     f"({x['evals']}) | 1 | {x['pastiche_time']:.0f} s ({x['evals']}) | 1 |")
        for name, label in (("ours", "ours, float32"), ("fast", f"ours, precision='auto' ({x['fast']['precision']})")):
            o = x[name]
            cells = []
            for key in ("saved", "own"):
                t = o[key]
                cells += ["not reached" if t["seconds"] is None else f"{t['seconds']:.0f} s ({t['evals']})",
                          _fmt(t["speedup"], ".2f", "x")]
            lines.append(f"| {x['size']} | {label} | {o['s_per_eval']:.3f} | " + " | ".join(cells) + " |")
    lines += ["", "Per evaluation, float32 and bfloat16 (alternating, medians); bfloat16 ceiling = the same VGG19 "
              "layers alone in pure bfloat16 channels-last:", "",
              "| size | float32 NCHW | float32 channels-last | speed-up | bfloat16 path | bfloat16 layers alone "
              "| path / ceiling | bfloat16 native? |", "| --- " * 8 + "|"]
    for x in r["layouts"]:
        bf16 = (f"{x['bfloat16_path_s']:.3f} s | {x['pure_bfloat16_layers_s']:.3f} s | "
                f"{x['bf16_path_vs_layers_alone']:.2f}" if "bfloat16_path_s" in x else "not measured | | ")
        lines.append(f"| {x['size']} | {x['float32_s']:.3f} s | {x['float32_channels_last_s']:.3f} s | "
                     f"{x['channels_last_speedup']:.2f}x | {bf16} | {'yes' if x['bf16_native'] else 'no (emulated)'} |")
    lines += ["", "Per evaluation against pastiche (float32, one scale, short runs alternating; bookkeeping = our "
              "loop minus a bare forward + backward):", "",
              "| size | pastiche | ours | ours / pastiche | bare evaluation | bookkeeping |", "| --- " * 6 + "|"]
    for x in r["per_eval"]:
        lines.append(f"| {x['size']} | {x['pastiche_s'] * 1000:.0f} ms | {x['ours_s'] * 1000:.0f} ms | "
                     f"{x['ours_vs_pastiche']:.2f} | {x['bare_s'] * 1000:.0f} ms | "
                     f"{x['bookkeeping_s'] * 1000:.0f} ms |")
    lines += ["", "Memory a run adds on top of `import torch` (defaults, fresh process each):", "",
              "| size | evaluations | freed buffers returned (NST_LEAN_MEMORY, on in a JupyterHub) | peak RSS "
              "| peak private memory |", "| --- " * 5 + "|"]
    for x in r["memory"]:
        lines.append(f"| {x['size']} | {x['steps']} | {'yes' if x['lean'] else 'no'} | "
                     f"{x['peak_rss_above_torch_mb']:.0f} MB | {x['peak_private_above_torch_mb']:.0f} MB |")
    lines += ["", "Targets (issue 17):"] + targets(r)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
