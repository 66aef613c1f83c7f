"""Make the README's result picture: C, S and G side by side, produced by the package itself.

Usage: ``python tools/make_readme_figure.py [--size 256] [--steps 300]`` -> images/results/readme_result.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from nst_helpers import bundled_image, load_image, run_style_transfer, show  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--content", default="coffee")
    p.add_argument("--style", default="swirls")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--out", default=str(ROOT / "images" / "results" / "readme_result.jpg"))
    args = p.parse_args()
    C = load_image(bundled_image(args.content), args.size)
    S = load_image(bundled_image(args.style, "style"), args.size)
    G, h = run_style_transfer(C, S, steps=args.steps)
    fig = show([C, S, G], [f"content C ({args.content})", f"style S ({args.style})",
                           f"G: {h.steps} L-BFGS evaluations at {args.size} px"], height=3.2)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, pil_kwargs={"quality": 88})
    print(f"wrote {out} ({out.stat().st_size // 1024} KB); loss {h.total[0]:.4g} -> {h.best_loss:.4g}")


if __name__ == "__main__":
    main()
