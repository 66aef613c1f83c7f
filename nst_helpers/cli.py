"""Command line: ``python -m nst_helpers CONTENT STYLE -o OUT`` (also installed as ``nst``).

Every option but the files and ``--force``/``--quiet`` is a field of
:class:`~nst_helpers.config.TransferConfig` (``--style-layers`` is ``style_layers``), with the
field's help; a new setting there is a new option here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .config import LAYER_WEIGHTINGS, TransferConfig
from .errors import NSTError
from .images import load_image, save_image
from .transfer import run_style_transfer

#: Where the command line's defaults differ from the API's: it renders at 256 px on the fastest path.
CLI_DEFAULTS = {"size": 256, "precision": "auto"}
_CLI_HELP = {"size": "long side of G in pixels",
             "precision": "'auto' uses bfloat16 where it is fast (AVX512-BF16 CPUs, recent GPUs), else float32"}


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


_TYPES = {"scales": _scales}


def _config_fields():
    return [f for f in dataclasses.fields(TransferConfig) if f.metadata.get("cli")]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the command line)."""
    p = argparse.ArgumentParser(
        prog="python -m nst_helpers",
        description="Gatys-style neural style transfer: repaint CONTENT in the style of STYLE.",
        epilog="Example: python -m nst_helpers images/content/coffee.jpg images/style/swirls.jpg "
        "-o coffee_swirls.png --size 256 --steps 150",
    )
    p.add_argument("content", help="content image C (path)")
    p.add_argument("style", nargs="+", help="style image S (path); several paths blend several styles")
    p.add_argument("-o", "--output", required=True, help="output image G (.png or .jpg)")
    for f in _config_fields():
        default = CLI_DEFAULTS.get(f.name, f.default)
        settings = dict(f.metadata["argparse"])
        if f.name in _TYPES:
            settings["type"] = _TYPES[f.name]
        if settings.get("nargs") == "+" and isinstance(default, (tuple, str)):
            default = list(default) if isinstance(default, tuple) else [default]
        text = _CLI_HELP.get(f.name, f.metadata["help"])
        if "default" not in text:
            text += " (default: %(default)s)"
        p.add_argument("--" + f.name.replace("_", "-"), default=default, help=text, **settings)
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _scales_arg(values):
    """The command line's ``--scales`` values as ``TransferConfig(scales=...)`` takes them."""
    if not isinstance(values, list):
        return values
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


def config_from_args(args: argparse.Namespace) -> TransferConfig:
    """The :class:`TransferConfig` of parsed command-line arguments (C is loaded at ``--size`` first)."""
    values = {f.name: getattr(args, f.name) for f in _config_fields()}
    values.update(scales=_scales_arg(values["scales"]), size=None, progress=not args.quiet,
                  style_layer_weights=_layer_weights_arg(values["style_layer_weights"]))
    return TransferConfig(**values)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"error: '{out}' exists and was left untouched; pass --force to overwrite it.", file=sys.stderr)
        return 1
    try:
        config = config_from_args(args)
        content = load_image(args.content, args.size)
        G, history = run_style_transfer(content, args.style if len(args.style) > 1 else args.style[0], config)
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
