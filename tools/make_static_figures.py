"""Make the static stand-ins of the live explorer: a beta grid and an init comparison, as small JPEGs.

GitHub and the rendered course website have no kernel, so the explorer of notebook 05 cannot run there.
These two pictures, made with the package's own ``run_style_transfer``, are shown beside it instead
(notebook 05, the README and the website link to them).

Usage (from the repository root)::

    python tools/make_static_figures.py                 # 192 px, 150 evaluations per run (~5 min on 2 cores)
    python tools/make_static_figures.py --size 96 --steps 20 --out /tmp/figs   # a quick look

Writes ``images/results/beta_grid.jpg`` and ``images/results/init_comparison.jpg``. An existing file is
replaced only with ``--force`` (the committed pictures are the reference of the docs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_helpers import DEFAULT_BETA, bundled_image, load_image, run_style_transfer  # noqa: E402
from nst_helpers.plotting import image_grid  # noqa: E402

#: The beta values of the grid: a logarithmic ladder of about x3 around DEFAULT_BETA (3e6), alpha = 1, with the
#: package's default balanced layer weights (notebook 05 explains their scale).
BETAS = (1e5, 3e5, 1e6, 3e6, 1e7, 3e7)
#: The three starts of the init comparison (the ``init`` argument of ``run_style_transfer``).
INITS = ("content", "noise", "random")


def _headline(fig, text: str, extra: float = 0.35) -> None:
    """Add a line of text above the grid: the figure grows by ``extra`` inches, the images keep their size."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + extra)
    fig.tight_layout(rect=(0, 0, 1, h / (h + extra)))
    fig.suptitle(text, fontsize=10, y=1 - 0.25 * extra / (h + extra))


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight", pil_kwargs={"quality": 85})
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", default="chelsea", help="bundled content image (default: chelsea)")
    p.add_argument("--style", default="swirls", help="bundled style image (default: swirls)")
    p.add_argument("--size", type=int, default=192, help="long side in pixels (default: 192)")
    p.add_argument("--steps", type=int, default=150, help="objective evaluations per run (default: 150)")
    p.add_argument("--out", default=str(ROOT / "images" / "results"), help="folder for the two JPEGs")
    p.add_argument("--force", action="store_true", help="replace existing pictures")
    args = p.parse_args(argv)
    out = Path(args.out)
    existing = [out / name for name in ("beta_grid.jpg", "init_comparison.jpg") if (out / name).exists()]
    if existing and not args.force:  # refuse before minutes of optimisation, not after
        raise SystemExit(f"{', '.join(map(str, existing))} exist(s); pass --force to replace (or --out elsewhere)")
    C = load_image(bundled_image(args.content), args.size)
    S = load_image(bundled_image(args.style, "style"))
    start = time.perf_counter()

    images, titles = [], []
    for beta in BETAS:
        G, h = run_style_transfer(C, S, beta=beta, steps=args.steps, progress=False, seed=0)
        k = h.best_step - 1
        images.append(G)
        titles.append(f"β = {beta:g}\nL_c = {h.content[k]:.2g}, L_s = {h.style[k]:.2g}")
        print(f"beta = {beta:g}: L_content = {h.content[k]:.4g}, L_style = {h.style[k]:.4g}", flush=True)
    fig = image_grid(images, titles, ncols=len(BETAS), height=1.9)
    _headline(fig, f"{args.content} + {args.style}: β from {BETAS[0]:g} to {BETAS[-1]:g} "
                   f"(α = 1, balanced layer weights), {args.steps} L-BFGS evaluations, {args.size} px")
    _save(fig, out / "beta_grid.jpg")

    images, titles = [C, S], ["content C", "style S"]
    for init in INITS:
        G, h = run_style_transfer(C, S, init=init, steps=args.steps, progress=False, seed=0)
        images.append(G)
        titles.append(f'init="{init}"\nL = {h.best_loss:.3g}')
        print(f"init = {init}: best L = {h.best_loss:.4g}", flush=True)
    fig = image_grid(images, titles, ncols=len(images), height=1.9)
    _headline(fig, f"Three starts, the package defaults (β = {DEFAULT_BETA:g}), {args.steps} L-BFGS evaluations each")
    _save(fig, out / "init_comparison.jpg")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
