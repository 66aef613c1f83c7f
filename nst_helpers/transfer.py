r"""Optimising the pixels of G: :func:`optimize` (notebook 04's loop) and :func:`run_style_transfer`.

We minimise

.. math:: L(G) = \alpha\, L_{content}(G, C) + \beta\, L_{style}(G, S)

over the pixels of G, where :math:`L_{content}` is the mean of the content losses of the content
layers and :math:`L_{style} = \sum_l w_l E_l` the weighted sum of the style losses. The network
never changes; only G does.

Reading order: :func:`optimize` is the loop of notebook 04 (the closure, line for line, then the
optimiser calls with clamping between them). :func:`transfer_once` builds what it needs at one
size. :func:`run_style_transfer` is the function users call: it makes a
:class:`~nst_helpers.config.TransferConfig` from its keywords and hands the extensions to their
modules: coarse-to-fine to :mod:`nst_helpers.pyramid`, colour preservation to
:func:`nst_helpers.color.preserve_colors`, several styles and masks to :mod:`nst_helpers.guided`.
The bookkeeping (history, snapshots, the best G, the budget) lives in :mod:`nst_helpers.history`,
the machine (device, precision, memory layout) in :mod:`nst_helpers.runtime`. For what alpha and
beta mean here versus the paper, see :mod:`nst_helpers.config`.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence

import torch

from .color import preserve_colors
from .config import TransferConfig
from .errors import ParameterError
from .guided import blend_weights, check_masks
from .history import BestImage, BudgetSpent, EvaluationBudget, History, Recorder, StopRun
from .images import MAX_SIDE, ImageSource, load_image, resize_to
from .losses import tv_loss
from .model import build_model
from .pyramid import coarse_to_fine, content_and_sides
from .runtime import Runtime, out_of_memory_as_resource_error, progress_bar

# What this module defines; the settings, history and runtime names it imports stay importable from here
# (older code does), but are documented where they live.
__all__ = ["balanced_weights", "initial_image", "layer_weights", "optimize", "run_style_transfer", "transfer_once"]

# Names that lived here before the settings, the pyramid and the runtime got modules of their own: still
# importable from here (``from nst_helpers.transfer import DEFAULT_BETA``), documented where they live.
_MOVED = {name: "config" for name in ("DEFAULT_ALPHA", "DEFAULT_BETA", "DEFAULT_STEPS", "DEFAULT_TV_PER_BETA",
                                      "DEFAULT_TV_WEIGHT", "EQUAL_WEIGHTS_BETA", "INIT_MODES", "LAYER_WEIGHTINGS",
                                      "OPTIMIZERS", "default_weights")}
_MOVED |= {name: "pyramid" for name in ("AUTO_SMALLEST_SIDE", "auto_scales", "stage_steps")}
_MOVED |= {name: "runtime" for name in ("PRECISIONS", "bf16_is_fast", "resolve_device", "resolve_precision")}


def __getattr__(name: str):
    if name in _MOVED:
        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



def optimize(G0: torch.Tensor, model: torch.nn.Module, content_losses: Sequence[torch.nn.Module],
             style_losses: Sequence[torch.nn.Module], style_weights: Sequence[float], config: TransferConfig,
             *, steps: int | None = None, runtime: Runtime | None = None,
             callback: Callable[[int, torch.Tensor, History], bool | None] | None = None,
             ) -> tuple[torch.Tensor, History]:
    """Notebook 04's loop: minimise ``alpha * L_content + beta * L_style (+ tv)`` over the pixels of G.

    ``G0``: the start, ``1 x 3 x H x W`` in [0, 1]. ``model`` and the loss layers come from
    :func:`~nst_helpers.model.build_model`; ``style_weights`` are the w_l, one per style loss.
    ``config`` must be :meth:`~nst_helpers.config.TransferConfig.resolved` (alpha, beta and
    tv_weight are numbers). Exactly ``steps`` (default ``config.steps``) evaluations; G is clamped
    to [0, 1] between optimiser calls of ``config.clamp_every`` evaluations, never inside the closure.
    Snapshots and the callback (every ``config.every`` evaluations) never change what is computed.
    Returns the best evaluated G (clamped) and the :class:`~nst_helpers.history.History`.
    """
    if runtime is None:  # no device chosen: where the model is (the caller built it there)
        device = config.device if config.device is not None else _model_device(model)
        runtime = Runtime.for_settings(device, config.precision)
    steps = config.steps if steps is None else steps
    alpha, beta, tv_weight = config.alpha, config.beta, config.tv_weight
    G = G0.to(runtime.device).requires_grad_(True)
    optimizer = make_optimizer(config, G)
    history = History(snapshots=[(0, G.detach().to("cpu").clone())])
    recorder = Recorder(history, loss_names(model, content_losses, style_losses), config.every, callback)
    budget, best, scale = EvaluationBudget(steps), BestImage(G), LossScale()
    zero = torch.zeros((), device=runtime.device)

    def closure() -> torch.Tensor:
        step = budget.spend()                                     # exactly `steps`, even inside a line search
        optimizer.zero_grad(set_to_none=True)                     # 1. forget the last gradient
        with runtime.autocast():
            model(runtime.network_input(G))                       # 2. forward: fill every .loss
        L_content = sum((cl.loss for cl in content_losses), zero) / max(len(content_losses), 1)
        L_style = sum((w * sl.loss for w, sl in zip(style_weights, style_losses)), zero)
        L = alpha * L_content + beta * L_style                    # 3. weighted sum
        if tv_weight > 0:
            L = L + tv_weight * tv_loss(G)
        (L * scale.of(L)).backward()                              # 4. dL/dG into G.grad
        best.update(L.detach(), G, step)
        recorder.record(step, G, [L, L_content, L_style, *(m.loss for m in (*content_losses, *style_losses))])
        return L.detach() * scale.of(L)                           # what the optimiser minimises

    start = time.perf_counter()
    with progress_bar(steps, config.progress, f"style transfer {G.shape[-1]}x{G.shape[-2]}") as bar, \
            out_of_memory_as_resource_error(runtime.device, G):
        try:
            while budget.left > 0 and history.stopped is None:
                history.stopped = optimizer_call(optimizer, closure, min(config.clamp_every, budget.left), G, best)
                with torch.no_grad():
                    G.clamp_(0.0, 1.0)          # between optimiser calls: L-BFGS never sees a clamped evaluation
                if not recorder.flush():
                    history.stopped = "non-finite loss"
                _show_progress(bar, history)
        except KeyboardInterrupt:
            recorder.flush()
            history.stopped = "interrupted"
            print(f"Interrupted after {history.steps} of {steps} evaluations; returning the best G so far.")
    return _finish(G, history, recorder, best, time.perf_counter() - start)


def _model_device(model: torch.nn.Module) -> torch.device | None:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else None


def optimizer_call(optimizer: torch.optim.Optimizer, closure: Callable, n: int, G: torch.Tensor,
                   best: BestImage) -> str | None:
    """One call of the optimiser, about ``n`` evaluations; returns why the run must stop, or None.

    L-BFGS ends a call after the iteration that reaches its ``max_eval``; Adam takes ``n`` steps. When
    the budget runs out or the run is stopped mid-call, G may sit at an untried point of a line
    search: it is set back to the best evaluated image.
    """
    try:
        if isinstance(optimizer, torch.optim.LBFGS):
            optimizer.step(closure)
        else:
            for _ in range(n):
                optimizer.step(closure)
        return None
    except BudgetSpent:
        reason = None
    except StopRun as stop:
        reason = stop.reason
    with torch.no_grad():
        G.copy_(best.image)
    return reason


def make_optimizer(config: TransferConfig, G: torch.Tensor) -> torch.optim.Optimizer:
    """L-BFGS (strong-Wolfe line search, history 100, calls of ``clamp_every`` evaluations) or Adam.

    Without the line search, a bad early curvature estimate can throw the loss up by orders of
    magnitude (seen: 1e7 -> 1e11 at evaluation 9 on a photo at 256 px).
    """
    if config.optimizer == "lbfgs":
        return torch.optim.LBFGS([G], lr=1.0 if config.lr is None else config.lr, max_iter=10**9,
                                 max_eval=config.clamp_every, tolerance_grad=0.0, tolerance_change=0.0,
                                 history_size=100, line_search_fn="strong_wolfe")
    return torch.optim.Adam([G], lr=0.02 if config.lr is None else config.lr)


class LossScale:
    """The factor 1 / L(G0), fixed at the first evaluation: the optimiser minimises L / L(G0).

    The history keeps the unscaled values. The factor does not make the arithmetic more exact
    (floating-point error is relative), and in exact arithmetic L-BFGS takes the same steps on L and
    on k * L, except torch's first trial step, lr * min(1, 1 / ||g||_1) along -g, which depends on the
    loss's size once ||g||_1 < 1 (so do its absolute thresholds tolerance_grad and tolerance_change).
    The factor makes those independent of how large alpha, beta and the weights make L; it does not
    speed up a run. Measured by benchmarks/bench_loss_scale.py (paper's pair, 128 px): with and without
    it, the losses agree to about 1e-4 for ten evaluations and differ by < 1 % after 40.
    """

    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def of(self, L: torch.Tensor) -> torch.Tensor:
        if self.value is None:
            self.value = 1.0 / L.detach().clamp_min(1e-12)
        return self.value


def loss_names(model: torch.nn.Module, content_losses, style_losses) -> list[str]:
    """The model's names of the loss layers (``content_relu4_2``, ``style_relu1_1``, ...), in that order."""
    names = {id(m): n for n, m in model.named_children()}
    return [names[id(m)] for m in (*content_losses, *style_losses)]


def _show_progress(bar, history: History) -> None:
    if history.total:
        bar.set_postfix(loss=f"{history.total[-1]:.4g}", refresh=False)
    bar.update(history.steps - bar.n)


def _finish(G: torch.Tensor, history: History, recorder: Recorder, best: BestImage,
            seconds: float) -> tuple[torch.Tensor, History]:
    """The returned image (the best evaluated one), the last snapshot, the warning of a failed run."""
    recorder.finish(G)
    history.seconds = seconds
    history.best_loss, history.best_step = float(best.loss), int(best.step)
    if history.stopped == "non-finite loss":
        kept = (f"returns the best finite G (evaluation {history.best_step})" if history.best_step > 0 else
                "had no finite loss at all, so it returns the start G0 unchanged")
        warnings.warn(f"The loss became NaN or infinite at evaluation {history.steps}; the run stopped and {kept}. "
                      "Lower alpha, beta or lr, or check the input images and weights.", RuntimeWarning, stacklevel=3)
    return best.image.clamp(0.0, 1.0), history  # G0 itself while no evaluation was finite


# ---- one size: the model, the weights, the start image

def balanced_weights(model: torch.nn.Module, C: torch.Tensor, style_losses,
                     G0: torch.Tensor | None = None) -> list[float]:
    r"""Style layer weights :math:`w_l = 1 / (L\, E_l(C, S))` that give every style layer the same say.

    :math:`E_l(C, S)` is the style loss of the photo itself at layer l (one forward pass of C). With
    these weights the style loss of the photo is exactly 1, and :math:`L_{style}(G)` is the mean over
    the L layers of how far G still is from the painting's statistics *relative to the photo*
    (0 = the painting's Gram matrices exactly). With equal weights the deep layers dominate: their
    :math:`E_l` are orders of magnitude larger, so colour and fine brushwork (relu1_1, relu2_1) are
    hardly matched. A layer where C already has the painting's statistics (:math:`E_l(C, S) = 0`,
    e.g. C = S for a texture) is measured relative to the start ``G0`` instead.

    Returns a list of L floats, in the order of ``style_losses``.
    """
    def losses(image: torch.Tensor) -> list[float]:
        with torch.no_grad():
            model(image)
        return [float(sl.loss) for sl in style_losses]

    reference = losses(C)
    if G0 is not None and not all(e > 0 and math.isfinite(e) for e in reference):
        reference = [e if e > 0 else f for e, f in zip(reference, losses(G0))]
    return [1.0 / (len(reference) * e) if e > 0 and math.isfinite(e) else 1.0 / len(reference) for e in reference]


def layer_weights(config: TransferConfig, model, C: torch.Tensor, style_losses, G0: torch.Tensor) -> list[float]:
    """The w_l of ``config.style_layer_weights``: balanced (measured on C), equal (1/L) or the given numbers."""
    if not style_losses:
        return []
    if config.style_layer_weights == "balanced":
        return balanced_weights(model, C, style_losses, G0)
    if config.style_layer_weights == "equal":
        return [1.0 / len(style_losses)] * len(style_losses)
    return list(config.style_layer_weights)


def initial_image(init, C: torch.Tensor, seed: int | None, noise: float) -> torch.Tensor:
    """G0 on the CPU: C (``"content"``), C plus noise of std ``noise``, uniform noise, or an image resized to C."""
    if isinstance(init, torch.Tensor):
        return resize_to(init.detach().to("cpu", torch.float32), tuple(C.shape[-2:])).clamp(0, 1)
    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    base = C.detach().to("cpu", torch.float32)
    if init == "content":
        return base.clone()
    if init == "noise":
        return (base + noise * torch.randn(base.shape, generator=generator)).clamp(0, 1)
    return torch.rand(base.shape, generator=generator)


def _style_size(content_hw: tuple[int, int], style_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """Style size with the content's pixel count times ``scale**2``, keeping the style's aspect ratio."""
    (ch, cw), (sh, sw) = content_hw, style_hw
    factor = scale * math.sqrt((ch * cw) / (sh * sw))
    return max(1, round(sh * factor)), max(1, round(sw * factor))


def transfer_once(C: torch.Tensor, *, styles: list[torch.Tensor], config: TransferConfig, steps: int, init,
                  callback=None) -> tuple[torch.Tensor, History]:
    """Style transfer at C's size: colour pre-processing, the model, the layer weights, :func:`optimize`."""
    S = [resize_to(s, _style_size(tuple(C.shape[-2:]), tuple(s.shape[-2:]), config.style_scale)) for s in styles]
    C, S, init, finish = preserve_colors(config.preserve_color, C, S, init)
    runtime = Runtime.for_settings(config.device, config.precision)
    G0 = initial_image(init, C, config.seed, config.noise)
    with out_of_memory_as_resource_error(runtime.device, C):  # drop the losses whose weight is 0: less to compute
        model, content_losses, style_losses = build_model(
            C.to(runtime.device), [s.to(runtime.device) for s in S],
            content_layers=config.content_layers if config.alpha > 0 else [],
            style_layers=config.style_layers if config.beta > 0 else [],
            normalization=config.normalization, weights=config.weights, pooling=config.pooling,
            style_blend=config.style_blend, style_masks=config.style_masks,
        )
    weights = layer_weights(config, model, C.to(runtime.device), style_losses, G0.to(runtime.device))
    G, history = optimize(G0, runtime.prepare(model), content_losses, style_losses, weights, config,
                          steps=steps, runtime=runtime, callback=callback)
    history.config = config
    history.settings = {**config.as_dict(), "steps": steps, "init": "image" if isinstance(init, torch.Tensor) else init,
                        "size": tuple(C.shape[-2:]), "device": str(runtime.device), "precision": runtime.precision,
                        "style_layer_weights": list(weights), "scales": None}
    return finish(G, history), history


# ---- what users call

def run_style_transfer(content: ImageSource, style: ImageSource | Sequence[ImageSource],
                       config: TransferConfig | None = None, *,
                       callback: Callable[[int, torch.Tensor, History], bool | None] | None = None,
                       **settings) -> tuple[torch.Tensor, History]:
    """Gatys' online style transfer: optimise G so that alpha * L_content + beta * L_style falls.

    Parameters
    ----------
    content
        C: ``1 x 3 x H x W`` tensor in [0, 1] or anything :func:`~nst_helpers.images.load_image` takes.
        G gets its size (or ``size``).
    style
        S (same kinds), or a list of style images blended by ``style_blend``. Each is resized to the
        content's number of pixels (times ``style_scale**2``), keeping its own aspect ratio.
    config
        A :class:`~nst_helpers.config.TransferConfig`; default: all defaults.
    callback
        ``callback(step, G, history)``, called every ``every`` evaluations with a copy of G (clamped);
        if it returns True the run stops early (``history.stopped == "callback"``).
    **settings
        Any field of :class:`~nst_helpers.config.TransferConfig`, overriding ``config``: ``alpha``,
        ``beta``, ``steps``, ``init``, ``optimizer``, ``content_layers``, ``style_layers``,
        ``style_layer_weights``, ``size``, ``scales``, ``preserve_color``, ``seed``, ``every``,
        ``device``, ``precision``, ... (each documented there). Bad values raise
        :class:`~nst_helpers.errors.ParameterError` before any image is loaded.

    Returns
    -------
    G : torch.Tensor
        ``1 x 3 x H x W`` in [0, 1]: the evaluated image with the lowest loss (normally the last one). On
        ``device`` if one was given; without one (the default: ``$NST_DEVICE``, else the CPU) on the CPU,
        wherever it was computed, so that it mixes with the caller's CPU tensors.
    history : History
        Loss curves, snapshots and why the run stopped, if it stopped early.

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) during the run does not lose the work: the run ends and returns the
    best G so far with ``history.stopped == "interrupted"``. A NaN or infinite loss ends the run the
    same way with a warning. The same seed and inputs give the same G on a CPU, whatever ``every`` is.
    """
    config = (config if config is not None else TransferConfig()).replace(**settings).resolved()
    styles = [load_image(s, max_size=MAX_SIDE) for s in _style_list(style)]  # S gets C's pixel count anyway
    _check_styles(config, len(styles))
    C, sides = content_and_sides(content, config)
    stage = functools.partial(transfer_once, styles=styles, config=config)
    if sides is None:
        G, history = stage(C, steps=config.steps, init=config.init, callback=callback)
    else:
        G, history = coarse_to_fine(C, sides, config.steps, config.init, stage, callback)
        history.config = config
    return (G.cpu() if config.device is None else G), history


def _style_list(style) -> list:
    if isinstance(style, (str, os.PathLike, torch.Tensor)) or not isinstance(style, Sequence):
        return [style]
    if not style:
        raise ParameterError("Give at least one style image.")
    return list(style)


def _check_styles(config: TransferConfig, n_styles: int) -> None:
    """The settings that depend on the number of style images, checked before any network work."""
    if config.style_blend is not None:
        blend_weights(config.style_blend, n_styles)
    if config.style_masks is not None:
        check_masks(config.style_masks, n_styles)
