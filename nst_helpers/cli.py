"""Command line: ``python -m nst_helpers CONTENT STYLE -o OUT`` (also installed as ``nst``).

Every option but the files and ``--force``/``--quiet`` is a field of
:class:`~nst_helpers.config.TransferConfig` (``--style-layers`` is ``style_layers``), with the
field's help; a new setting there is a new option here.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import warnings
from pathlib import Path

from .config import LAYER_WEIGHTINGS, TransferConfig
from .errors import NSTError
from .files import check_fits_format, check_output, keep_safe
from .images import load_image, save_image, to_pil
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
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists (never an input file)")
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


class StopSignals:
    """SIGTERM and SIGHUP (a batch system, ``timeout``, a closed terminal) end the run as Ctrl-C does: the best
    G so far is kept. ``number`` is the signal that came, if one did (handlers are set in the main thread only)."""

    def __enter__(self) -> StopSignals:
        self.number, self.previous, self.holding = None, {}, False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
                if sig is not None:
                    self.previous[sig] = signal.signal(sig, self._stop)
        return self

    def _stop(self, number, frame) -> None:
        if self.number is None and not self.holding:  # the first one stops the run; later ones, or one while
            self.number = number                       # G is being saved, must not break the saving
            raise KeyboardInterrupt

    def hold(self) -> None:
        """From now on a signal no longer interrupts (G is being saved); it is only noted."""
        self.holding = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    @property
    def status(self) -> int:
        """The exit status of a stopped run: 128 + the signal's number (130 for Ctrl-C)."""
        return 128 + (self.number or signal.SIGINT)


def _final_size(C, config: TransferConfig) -> tuple[int, int]:
    """(H, W) of the G a run on C will make (the last coarse-to-fine side, if the sides are given)."""
    h, w = C.shape[-2:]
    if isinstance(config.scales, tuple):
        f = config.scales[-1] / max(h, w)
        return max(1, round(h * f)), max(1, round(w * f))
    return h, w


def _save(G, out: Path, force: bool) -> str | None:
    """Save G; if that fails, keep it under a new name elsewhere. Returns the error line, or None."""
    try:
        save_image(G, out, overwrite=force)
        return None
    except NSTError as exc:
        try:
            kept = keep_safe(to_pil(G), out)
        except NSTError as again:
            return f"{exc} The result could not be kept elsewhere either: {again}"
        return f"{exc} The result was kept as '{kept}'."


def _report(G, history, out: Path, force: bool, signals: StopSignals) -> int:
    """Save G and say what happened, in one line; returns the exit status."""
    if not history.total:
        print("error: stopped before the first evaluation; nothing was written.", file=sys.stderr)
        return signals.status
    if history.stopped == "non-finite loss" and history.best_step == 0:
        print(f"error: the loss was NaN or infinite from the first evaluation (total {history.total[0]}), so the run "
              "made nothing better than its start and nothing was written. Lower alpha, beta or lr, or check the "
              "images and the weights.", file=sys.stderr)
        return 1
    failed = _save(G, out, force)
    if failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    if history.stopped == "non-finite loss":
        print(f"error: the loss became NaN or infinite at evaluation {history.steps}; wrote the best finite G "
              f"(evaluation {history.best_step}) to {out}. Lower beta or lr and run again.", file=sys.stderr)
        return 1
    note = f" (stopped early: {history.stopped})" if history.stopped else ""
    print(f"wrote {out}: {G.shape[-1]} x {G.shape[-2]} px, {history.steps} evaluations in "
          f"{history.seconds:.1f} s, loss {history.total[0]:.4g} -> {history.best_loss:.4g}{note}")
    return signals.status if history.stopped == "interrupted" else 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 usage, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

    Everything that can be checked is checked before the optimisation (the settings, the output path, the
    images); a failure prints one line ``error: ...`` and never touches an input file.
    """
    args = build_parser().parse_args(argv)
    with StopSignals() as signals, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The loss became NaN", category=RuntimeWarning)  # said below
        try:
            config = config_from_args(args)
            out = check_output(args.output, overwrite=args.force, inputs=[args.content, *args.style])
            content = load_image(args.content, args.size)
            check_fits_format(out, *_final_size(content, config))
            G, history = run_style_transfer(content, args.style if len(args.style) > 1 else args.style[0], config)
        except NSTError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("error: interrupted before the run could return its G; nothing was written.", file=sys.stderr)
            return signals.status
        signals.hold()
        return _report(G, history, out, args.force, signals)


if __name__ == "__main__":
    sys.exit(main())
