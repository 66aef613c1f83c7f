"""The GPU path: seconds per objective evaluation and the time of a whole 512 px render, on a CUDA GPU.

Run on a machine with a CUDA GPU (it exits with a message elsewhere)::

    python benchmarks/bench_gpu.py            # about a minute on an H100
    python -m pytest tests/test_cuda.py       # the GPU tests (device, precision, out-of-memory, determinism)

What it measures, with the paper's pair (Tübingen and *The Starry Night*; ``bench_speed.images``):

1. One evaluation (forward through the trimmed model + backward to G), median of ``--repeats``, at 256 and
   512 px, in float32 (TF32 off, the textbook computation), float32 with TF32 and ``precision="auto"``
   (bfloat16 autocast + channels-last), each next to the same VGG19 convolutions alone in the same dtype.
2. The same evaluation replayed from a captured CUDA graph (``precision="auto"``): what kernel-launch and
   Python overhead cost per evaluation, i.e. what CUDA graphs could save.
3. Whole renders through ``run_style_transfer(device="auto", precision="auto")``: 512 px with 300
   evaluations at one scale (the issue's goal: under 3 s on an H200), and the default coarse-to-fine
   render of the README (512 px). Each is timed after a warm-up run, with ``torch.cuda.synchronize()``.

Writes ``benchmarks/results/gpu-<time>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_speed import conv_inputs, images  # noqa: E402  (the paper's pair, S at C's pixel count)

from nst_helpers import build_model, load_image, run_style_transfer  # noqa: E402
from nst_helpers.runtime import Runtime  # noqa: E402

CONTENT, STYLE = ROOT / "images/content/tubingen.jpg", ROOT / "images/style/starry_night.jpg"


def pair(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    C, S = images(size)
    return C.to(device), S.to(device)


def cuda_median(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def evaluation_times(size: int, repeats: int) -> dict:
    dev = torch.device("cuda")
    C, S = pair(size, dev)
    out = dict(size=f"{C.shape[-1]}x{C.shape[-2]}")
    for label, precision, tf32 in (("float32", "float32", False), ("float32+tf32", "float32", True),
                                   ("auto", "auto", True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        runtime = Runtime.for_settings("cuda", precision)
        model, cl, sl = build_model(C, S)
        model = runtime.prepare(model)
        G = C.clone().requires_grad_(True)

        def evaluation(model=model, cl=cl, sl=sl, G=G, runtime=runtime):
            G.grad = None
            with runtime.autocast():
                model(runtime.network_input(G))
            (cl[0].loss + sum(s.loss for s in sl)).backward()

        convs, shapes = conv_inputs(model, *C.shape[-2:])
        fmt = torch.channels_last if runtime.channels_last else torch.contiguous_format
        xs = [torch.randn(s, device=dev).contiguous(memory_format=fmt).requires_grad_(True) for s in shapes]

        def convs_alone(convs=convs, xs=xs, runtime=runtime):
            for conv, x in zip(convs, xs):
                x.grad = None
                with runtime.autocast():
                    y = conv(x)
                y.float().sum().backward()

        t_eval, t_conv = cuda_median(evaluation, repeats), cuda_median(convs_alone, repeats)
        out[label] = dict(precision=runtime.precision, eval_ms=1000 * t_eval, convs_alone_ms=1000 * t_conv,
                          ratio=t_conv / t_eval)
        if label == "auto":
            out["auto_graph_ms"] = graph_replay_ms(evaluation, G, repeats)
    return out


def graph_replay_ms(evaluation, G: torch.Tensor, repeats: int) -> float | None:
    """One evaluation replayed from a CUDA graph (same buffers each time), or None if capture fails."""
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                evaluation()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        G.grad = None
        with torch.cuda.graph(graph):
            evaluation()
        return 1000 * cuda_median(graph.replay, repeats)
    except Exception as exc:  # a capture can fail on an op that syncs with the host; report, don't crash
        print(f"CUDA graph capture failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def render_time(size: int, steps: int, **settings) -> dict:
    C = load_image(CONTENT, size)
    S = load_image(STYLE)
    run_style_transfer(C, S, steps=10, device="auto", precision="auto", progress=False, scales=None)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    G, history = run_style_transfer(C, S, steps=steps, device="auto", precision="auto", progress=False, **settings)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return dict(size=f"{C.shape[-1]}x{C.shape[-2]}", steps=steps, settings=str(settings), seconds=seconds,
                evaluations=history.steps, final_loss=history.total[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA GPU; PyTorch sees none here. Run it on a GPU machine.")
        return 2
    result = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, cuda=torch.version.cuda,
                  evaluations=[], renders=[])
    for size in (256, 512):
        result["evaluations"].append(r := evaluation_times(size, args.repeats))
        print(json.dumps(r), flush=True)
    for size, steps, settings in ((512, 300, dict(scales=None)), (512, 300, {})):
        result["renders"].append(r := render_time(size, steps, **settings))
        print(json.dumps(r), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1))
    lines = [f"GPU: {result['gpu']}, torch {result['torch']}, CUDA {result['cuda']}", "",
             "| size | float32 eval (convs alone) | float32+TF32 | auto: precision | auto eval (convs alone) "
             "| auto, CUDA graph |", "| --- | --- | --- | --- | --- | --- |"]
    for e in result["evaluations"]:
        f32, tf, a = e["float32"], e["float32+tf32"], e["auto"]
        graph = "failed" if e["auto_graph_ms"] is None else f"{e['auto_graph_ms']:.2f} ms"
        lines.append(f"| {e['size']} | {f32['eval_ms']:.2f} ms ({f32['convs_alone_ms']:.2f}) | {tf['eval_ms']:.2f} ms "
                     f"| {a['precision']} | {a['eval_ms']:.2f} ms ({a['convs_alone_ms']:.2f}) | {graph} |")
    lines += ["", "| render | evaluations | seconds |", "| --- | --- | --- |"]
    for r in result["renders"]:
        lines.append(f"| {r['size']} {r['settings']} | {r['evaluations']} | {r['seconds']:.2f} |")
    print("\n".join(lines))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
