"""Quality of the default render against the published classic, for the paper's pair.

Run with ``make bench-quality`` (about 10 minutes on a 2-core CPU). It

1. times one float32 objective evaluation at 512 px (median of 5): the unit of the time budget
   (the default render must finish within 90 of them);
2. renders the bundled Tuebingen photo in the style of The Starry Night exactly as the README's
   command does, ``python -m nst_helpers tubingen.jpg starry_night.jpg -o OUT --size 512``, with
   every other option at its default, and times it;
3. scores that render, the photo itself and, where ``../shared/data/ref`` has it, jcjohnson/neural-style's
   published render of the same pair with :func:`nst_helpers.quality.score` (style ratio, content loss
   at relu4_2, speckle; all at 512 px);
4. prints a Markdown table and writes JSON and a side-by-side figure (C | S | ours | published) to
   ``benchmarks/results/``. The published render is only measured against, never committed.

``--ablations`` also renders with one lever at a time set back (equal layer weights with their beta 30,
a single scale with as many evaluations as fit the same time, no TV), to show what each lever buys.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_helpers import build_model, bundled_image, load_image  # noqa: E402
from nst_helpers.cli import main as cli_main  # noqa: E402
from nst_helpers.quality import score  # noqa: E402
from nst_helpers.vgg import load_vgg19  # noqa: E402

PUBLISHED = ROOT.parent / "shared" / "data" / "ref" / "tubingen_starry_jcjohnson.png"
RESULTS = ROOT / "benchmarks" / "results"
BUDGET_EVALS = 90  # the default render must take at most this many float32 512-px evaluations of wall time


def eval_seconds(C: torch.Tensor, S: torch.Tensor, repeats: int = 5) -> float:
    """Median time of one float32 evaluation (forward + backward to the image) at C's size."""
    model, _, _ = build_model(C, S)
    G = C.clone().requires_grad_(True)
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        model(G)
        loss = sum(m.loss for m in model if hasattr(m, "loss"))
        loss.backward()
        if k:  # the first call warms up the allocator and the kernels
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def render_default(content: Path, style: Path, out: Path, size: int, extra: list[str] | None = None) -> float:
    """The README's render command, run in this process; returns its wall time in seconds."""
    start = time.perf_counter()
    status = cli_main([str(content), str(style), "-o", str(out), "--size", str(size), "--quiet", "--force",
                       *(extra or [])])
    if status != 0:
        raise SystemExit(f"the render command failed with status {status}")
    return time.perf_counter() - start


# One lever back at a time, each within about the same time as the default render. (The old defaults,
# beta 30 with equal weights on one scale for 300 evaluations, take about 4x the budget: measured once
# by hand, see benchmarks/README.md.)
ABLATIONS = {
    "equal layer weights (beta 30, no TV)": ["--style-layer-weights", "equal"],
    "one scale, 80 evaluations": ["--scales", "off", "--steps", "80"],
    "no TV": ["--tv-weight", "0"],
}


def side_by_side(images: list[torch.Tensor], titles: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nst_helpers.plotting import image_grid

    fig = image_grid(images, titles, ncols=len(images), height=3.0)
    fig.savefig(path, dpi=110, bbox_inches="tight", pil_kwargs={"quality": 90})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512, help="long side of the render (the budget is always at 512)")
    p.add_argument("--ablations", action="store_true", help="also render with each lever set back")
    p.add_argument("--out", default=str(RESULTS), help="folder for the JSON and the figure")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    content, style = bundled_image("tubingen"), bundled_image("starry_night", "style")

    C512 = load_image(content, 512)
    S = load_image(style, 512)  # its size does not change the cost of an evaluation, only the targets'
    t_eval = eval_seconds(C512, S)
    budget = BUDGET_EVALS * t_eval
    print(f"one float32 evaluation at 512 px: {t_eval:.2f} s (median of 5); "
          f"budget {BUDGET_EVALS} of them = {budget:.0f} s")

    vgg = load_vgg19("caffe", last_layer="relu5_1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"ours, defaults": []}
        if args.ablations:
            runs.update(ABLATIONS)
        renders = {}
        for name, extra in runs.items():
            path = Path(tmp) / f"{len(renders)}.png"
            seconds = render_default(content, style, path, args.size, extra)
            renders[name] = load_image(path)
            s = score(content, style, path, vgg=vgg)
            rows.append(dict(name=name, seconds=seconds, evals_equivalent=seconds / t_eval, **s.__dict__))
            print(f"{name}: {s}, {seconds:.0f} s = {seconds / t_eval:.0f} evaluations")
        others = {"the photo itself": content}
        if PUBLISHED.exists():
            others["published (jcjohnson/neural-style)"] = PUBLISHED
        for name, path in others.items():
            s = score(content, style, path, vgg=vgg)
            rows.append(dict(name=name, seconds=None, evals_equivalent=None, **s.__dict__))
        figure = [C512, S, renders["ours, defaults"]]
        titles = ["C: Tübingen (A. Praefcke, CC BY 3.0)", "S: The Starry Night", "G: ours, defaults"]
        if PUBLISHED.exists():
            figure.append(load_image(PUBLISHED))
            titles.append("published (jcjohnson, 1000 its.)")
        side_by_side(figure, titles, out_dir / "quality_side_by_side.jpg")

    print()
    print(f"| {args.size} px, Tübingen + The Starry Night | style ratio | content loss | speckle | time | "
          "evaluations of time |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        t = "" if r["seconds"] is None else f"{r['seconds']:.0f} s"
        e = "" if r["evals_equivalent"] is None else f"{r['evals_equivalent']:.0f} (budget {BUDGET_EVALS})"
        print(f"| {r['name']} | {r['style_ratio']:.3f} | {r['content']:,.0f} | {r['speckle']:.3f} | {t} | {e} |")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"quality-{stamp}.json").write_text(json.dumps(dict(t_eval=t_eval, budget_s=budget, rows=rows),
                                                              indent=2, default=list))
    print(f"\nwrote {out_dir / 'quality_side_by_side.jpg'} and quality-{stamp}.json")
    if not PUBLISHED.exists():
        print(f"(the published render was not found at {PUBLISHED}: only our figures are shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
