"""Command line: ``python -m nst_helpers CONTENT STYLE -o OUT`` (also installed as ``nst``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .color import COLOR_MODES
from .errors import NSTError
from .images import load_image, save_image
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from .transfer import (
    DEFAULT_STEPS,
    DEFAULT_TV_PER_BETA,
    DEFAULT_TV_WEIGHT,
    INIT_MODES,
    LAYER_WEIGHTINGS,
    OPTIMIZERS,
    PRECISIONS,
    default_weights,
    run_style_transfer,
)


def _scales(value: str):
    """``auto``, ``off`` or a whole number (one long side of a coarse-to-fine schedule)."""
    if value in ("auto", "off"):
        return value
    try:
        side = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto', 'off' or long sides in pixels, got {value!r}") from None
    if side < 1:
        raise argparse.ArgumentTypeError(f"a long side must be a positive number of pixels, got {side}")
    return side


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the command line)."""
    alpha, beta = default_weights("caffe")
    p = argparse.ArgumentParser(
        prog="python -m nst_helpers",
        description="Gatys-style neural style transfer: repaint CONTENT in the style of STYLE.",
        epilog="Example: python -m nst_helpers images/content/coffee.jpg images/style/swirls.jpg "
        "-o coffee_swirls.png --size 256 --steps 150",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("content", help="content image C (path)")
    p.add_argument("style", nargs="+", help="style image S (path); several paths blend several styles")
    p.add_argument("-o", "--output", required=True, help="output image G (.png or .jpg)")
    p.add_argument("--size", type=int, default=256, help="long side of G in pixels")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="objective evaluations")
    p.add_argument("--alpha", type=float, default=alpha, help="content weight")
    p.add_argument("--beta", type=float, default=None,
                   help=f"style weight (default {beta:g} with balanced layer weights, "
                        f"{default_weights('caffe', 'equal')[1]:g} with equal ones; for the caffe weights)")
    p.add_argument("--init", choices=INIT_MODES, default="content", help="how G starts")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    p.add_argument("--content-layers", nargs="+", default=list(DEFAULT_CONTENT_LAYERS), metavar="LAYER")
    p.add_argument("--style-layers", nargs="+", default=list(DEFAULT_STYLE_LAYERS), metavar="LAYER")
    p.add_argument("--weights", default="caffe", help="'caffe', 'torchvision' or a state-dict path")
    p.add_argument("--pooling", choices=("max", "avg"), default="max")
    p.add_argument("--preserve-color", choices=COLOR_MODES, default=None,
                   help="keep the content's colours: 'luminance' (transfer brightness only) or 'match'")
    p.add_argument("--style-blend", type=float, nargs="+", default=None, metavar="W",
                   help="weights of several style images (one per STYLE)")
    p.add_argument("--style-scale", type=float, default=1.0, help="size of style features relative to content")
    p.add_argument("--tv-weight", type=float, default=None,
                   help=f"total-variation (smoothness) weight (default: {DEFAULT_TV_PER_BETA:.3g} x beta, "
                        f"{DEFAULT_TV_WEIGHT:g} for the default beta; 0 with non-balanced layer weights)")
    p.add_argument("--style-layer-weights", default="balanced", metavar="W",
                   help="'balanced' (every style layer counts the same, relative to the photo), 'equal' "
                        "(the paper's 1/L each), or one number per style layer")
    p.add_argument("--scales", type=_scales, nargs="+", default=["auto"], metavar="SIDE",
                   help="coarse-to-fine long sides, e.g. --scales 128 256 512 (G gets the last); 'auto' halves "
                        "--size down to 128 px; 'off' = one scale")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="'auto' uses bfloat16 where it is fast (AVX512-BF16 CPUs, recent GPUs), else float32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _scales_arg(values: list):
    """The command line's ``--scales`` values as ``run_style_transfer(scales=...)`` takes them."""
    words = [v for v in values if isinstance(v, str)]
    if words:
        if len(values) > 1:
            raise NSTError(f"--scales takes 'auto', 'off' or long sides in pixels, not both: {values}")
        return words[0]
    return list(values)


def _layer_weights_arg(value: str):
    """``--style-layer-weights``: a named weighting or numbers separated by commas or spaces."""
    if value in LAYER_WEIGHTINGS:
        return value
    try:
        return [float(v) for v in value.replace(",", " ").split()]
    except ValueError:
        raise NSTError(f"--style-layer-weights takes {' or '.join(LAYER_WEIGHTINGS)} or numbers such as "
                       f"'1,1,1,1,1', got {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"error: '{out}' exists and was left untouched; pass --force to overwrite it.", file=sys.stderr)
        return 1
    try:
        content = load_image(args.content, args.size)
        G, history = run_style_transfer(
            content, args.style if len(args.style) > 1 else args.style[0],
            alpha=args.alpha, beta=args.beta, steps=args.steps, init=args.init, optimizer=args.optimizer,
            content_layers=args.content_layers, style_layers=args.style_layers, seed=args.seed,
            device=args.device, progress=not args.quiet, weights=args.weights, pooling=args.pooling,
            preserve_color=args.preserve_color, style_blend=args.style_blend, style_scale=args.style_scale,
            tv_weight=args.tv_weight, scales=_scales_arg(args.scales), precision=args.precision,
            style_layer_weights=_layer_weights_arg(args.style_layer_weights),
        )
        save_image(G, out, overwrite=args.force)
    except (NSTError, FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    note = f" (stopped early: {history.stopped})" if history.stopped else ""
    print(f"wrote {out}: {G.shape[-1]} x {G.shape[-2]} px, {history.steps} evaluations in "
          f"{history.seconds:.1f} s, loss {history.total[0]:.4g} -> {history.best_loss:.4g}{note}")
    return 130 if history.stopped == "interrupted" else 0


if __name__ == "__main__":
    sys.exit(main())
