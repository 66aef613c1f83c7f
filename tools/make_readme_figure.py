"""Make the README's result picture: C, S and G side by side, produced by the package itself.

The render is the README's command with every default (``python -m nst_helpers tubingen.jpg starry_night.jpg
--size 512``): the paper's own pair, Gatys et al. 2016, Figure 2.

Usage: ``python tools/make_readme_figure.py [--size 512]`` -> images/results/readme_result.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from nst_helpers import bundled_image, load_image, run_style_transfer, show  # noqa: E402
from nst_helpers.transfer import DEFAULT_STEPS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--content", default="tubingen")
    p.add_argument("--style", default="starry_night")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--out", default=str(ROOT / "images" / "results" / "readme_result.jpg"))
    args = p.parse_args()
    C = load_image(bundled_image(args.content), args.size)
    S = load_image(bundled_image(args.style, "style"))  # full size, resized by run_style_transfer as the CLI does
    G, h = run_style_transfer(C, S, steps=args.steps, precision="auto")  # the command line's defaults
    scales = " → ".join(map(str, h.settings["scales"] or [args.size]))
    credit = " (A. Praefcke, CC BY 3.0)" if args.content == "tubingen" else ""
    fig = show([C, S, G], [f"content C: {args.content}{credit}", f"style S: {args.style}",
                           f"G: defaults, {h.steps} L-BFGS evaluations, {scales} px"], height=3.2)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, pil_kwargs={"quality": 88})
    print(f"wrote {out} ({out.stat().st_size // 1024} KB); loss {h.total[0]:.4g} -> {h.best_loss:.4g}")


if __name__ == "__main__":
    main()
