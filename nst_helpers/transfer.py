r"""Optimising the pixels of G: ``run_style_transfer``.

We minimise

.. math:: L(G) = \alpha\, L_{content}(G, C) + \beta\, L_{style}(G, S)

over the pixels of G, where :math:`L_{content}` is the mean of the content
losses of the content layers and :math:`L_{style} = \sum_l w_l E_l` the
weighted sum of the style losses, with :math:`w_l = 1/|\text{style layers}|`
unless given (the paper's choice). The network never changes; only G does.

alpha and beta here versus the paper
------------------------------------
Our losses are normalised (see :mod:`nst_helpers.losses`): the content loss is
a mean over the :math:`N_l M_l` feature values, the Gram matrix is divided by
:math:`N_l M_l`. With the paper's un-normalised losses,
:math:`L^{paper}_{content} = \frac{N_c M_c}{2} L_{content}` and
:math:`E^{paper}_l = \frac{N_l^2}{4} E_l`. So a paper ratio
:math:`\alpha_p/\beta_p` corresponds to very different numbers here, and,
unlike the paper's, ours do not depend on the image size (the paper's ratio
silently changes with :math:`M_c`, the number of pixels). Only the ratio
beta/alpha matters for the result (up to the step size of Adam); alpha = 1
by convention. The defaults :data:`DEFAULT_ALPHA` and :data:`DEFAULT_BETA`
belong to the ``"caffe"`` weights (features on a 0..255 scale); torchvision's
weights take inputs on a roughly 0..1 scale, so their features, and Gram
matrices, are much smaller: use :func:`default_weights` to get matching values.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .color import COLOR_MODES, combine_luminance, luminance, match_color, match_luminance
from .errors import ParameterError, ResourceError
from .images import ImageSource, load_image, resize_to
from .losses import tv_loss
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, build_model, min_image_side
from .vgg import check_layer_names

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_STEPS",
    "DEFAULT_TV_PER_BETA",
    "DEFAULT_TV_WEIGHT",
    "INIT_MODES",
    "LAYER_WEIGHTINGS",
    "OPTIMIZERS",
    "PRECISIONS",
    "History",
    "auto_scales",
    "balanced_weights",
    "bf16_is_fast",
    "default_weights",
    "resolve_device",
    "resolve_precision",
    "stage_steps",
    "run_style_transfer",
]

#: Content weight alpha (by convention 1).
DEFAULT_ALPHA = 1.0
#: Style weight beta for the default "caffe" weights and the default balanced layer weights, with which
#: L_style(C) = 1 and L_content is an MSE of features on a 0..255 scale (about 1e5 for a good render).
#: Measured at 512 px on the paper's pair (benchmarks/bench_quality.py): beta = 1e6 keeps the photo
#: clearly in front, 3e6 gives the classic look (swirls, stars, the painting's palette, the buildings
#: intact), 1e7 and more bury the content.
DEFAULT_BETA = 3e6
#: Default weight of the total-variation term, as a fraction of beta: a light smoothness prior that removes the
#: finest coloured speckle at 512 px without softening the brush strokes (tv_weight = 2e6 for the default beta;
#: tv_loss of a photo is about 0.01). Tied to beta so that it stays light whatever scale beta has.
DEFAULT_TV_PER_BETA = 2.0 / 3.0
#: The resulting default TV weight for :data:`DEFAULT_BETA`.
DEFAULT_TV_WEIGHT = DEFAULT_TV_PER_BETA * DEFAULT_BETA
#: Default number of objective evaluations.
DEFAULT_STEPS = 300
#: Ways to initialise G.
INIT_MODES = ("content", "noise", "random")
#: Named choices of the style layer weights: ``"balanced"`` (see :func:`balanced_weights`) or
#: ``"equal"`` (1 / number of layers each, the paper's choice).
LAYER_WEIGHTINGS = ("balanced", "equal")
#: Smallest long side of the automatic coarse-to-fine schedule (:func:`auto_scales`).
AUTO_SMALLEST_SIDE = 128
#: Optimisers.
OPTIMIZERS = ("lbfgs", "adam")
#: Arithmetic of the forward pass: ``"float32"`` (the textbook computation), ``"bfloat16"`` (autocast: the
#: convolutions and Gram products in bfloat16, the optimiser in float32), or ``"auto"`` (see :func:`resolve_precision`).
PRECISIONS = ("float32", "bfloat16", "auto")

# torchvision's weights see inputs about 58 times smaller (1/0.226 vs 255), so features are about
# 58x and content losses 58**2x smaller, while the balanced style loss is a ratio (1 for the photo) on
# any scale: beta shrinks by about 58**2 = 3.4e3. (Estimated from that scale, not calibrated: their
# weights need a download we cannot do offline.)
# With raw layer weights (equal or given numbers) the style loss is a Gram MSE: 58**4 smaller for torchvision.
#: beta of the paper's equal layer weights (1/L each) with the caffe weights (the package's default before
#: balanced weights): a visible but light style at 512 px.
EQUAL_WEIGHTS_BETA = 30.0
_WEIGHT_DEFAULTS = {
    ("caffe", True): (DEFAULT_ALPHA, DEFAULT_BETA), ("torchvision", True): (1.0, DEFAULT_BETA / 3.4e3),
    ("caffe", False): (DEFAULT_ALPHA, EQUAL_WEIGHTS_BETA), ("torchvision", False): (1.0, EQUAL_WEIGHTS_BETA * 3.4e3),
}


def default_weights(weights: str | os.PathLike = "caffe",
                    style_layer_weights: Sequence[float] | str = "balanced") -> tuple[float, float]:
    """Default ``(alpha, beta)`` for a weight set and a style layer weighting.

    Features of different scale need a different beta: the balanced style loss is a ratio (1 for
    the photo), the equal-weights one a Gram MSE, about 1e5 times larger for the caffe weights.
    """
    kind = str(weights) if str(weights) in ("caffe", "torchvision") else "caffe"
    return _WEIGHT_DEFAULTS[(kind, isinstance(style_layer_weights, str) and style_layer_weights == "balanced")]


@dataclass
class History:
    """What happened during a run, one entry per objective evaluation.

    Attributes
    ----------
    total, content, style
        Lists of floats: L, L_content and L_style at each evaluation (in
        order; ``total[k]`` is the loss at evaluation ``k + 1``).
    layers
        Per-layer losses: ``{"content_relu4_2": [...], "style_relu1_1": [...], ...}``.
    snapshots
        ``[(step, G)]``: G (``1 x 3 x H x W`` on the CPU) after ``step``
        evaluations, every ``every`` evaluations, plus the start (step 0).
    best_step, best_loss
        Evaluation with the lowest total loss; the returned G is the image at that evaluation.
    stopped
        ``None`` if all steps ran, else why the run ended early
        (``"interrupted"``, ``"callback"``, ``"non-finite loss"``).
    seconds
        Wall-clock time of the optimisation (targets and model building excluded).
    settings
        The parameters of the run (for captions and caches).
    """

    total: list[float] = field(default_factory=list)
    content: list[float] = field(default_factory=list)
    style: list[float] = field(default_factory=list)
    layers: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    best_step: int = 0
    best_loss: float = math.inf
    stopped: str | None = None
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Number of objective evaluations done."""
        return len(self.total)

    def snapshot_at(self, step: int) -> tuple[int, torch.Tensor]:
        """The snapshot taken at ``step`` or, if none, the last one before it."""
        if not self.snapshots:
            raise ValueError("This run kept no snapshots.")
        best = self.snapshots[0]
        for s in self.snapshots:
            if s[0] <= step:
                best = s
        return best


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"auto"`` (CUDA, else MPS, else CPU)."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        name = device.type
    else:
        name = str(device).lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"Unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for, but PyTorch sees no CUDA GPU here. Use 'cpu' or 'auto'.")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise ParameterError("device='mps' was asked for, but Apple's MPS is not available here. Use 'cpu' or 'auto'.")
    return torch.device(name if not isinstance(device, torch.device) else device)


def bf16_is_fast(device: torch.device) -> bool:
    """True where bfloat16 convolutions run natively: a CUDA GPU with bf16 support, or a CPU with AVX512-BF16/AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        try:
            return bool(check()) if check is not None else False
        except RuntimeError:
            return False
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``precision`` on ``device`` (``"auto"``: bfloat16 where it is fast)."""
    if precision not in PRECISIONS:
        raise ParameterError(f"Unknown precision {precision!r}: use one of {PRECISIONS}.")
    if precision == "auto":
        return "bfloat16" if bf16_is_fast(device) else "float32"
    if precision == "bfloat16" and device.type == "mps":
        raise ParameterError("precision='bfloat16' is not supported on MPS; use 'float32'.")
    return precision


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


def _check_weight(value: float, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v) or v < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}.")
    return v


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return value


def _style_size(content_hw: tuple[int, int], style_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """Style size with the content's pixel count times ``scale**2``, keeping the style's aspect ratio."""
    (ch, cw), (sh, sw) = content_hw, style_hw
    factor = scale * math.sqrt((ch * cw) / (sh * sw))
    return max(1, round(sh * factor)), max(1, round(sw * factor))


def _initial_image(init, content: torch.Tensor, generator: torch.Generator, noise: float) -> torch.Tensor:
    if isinstance(init, torch.Tensor):
        if init.ndim != 4 or init.shape[:2] != (1, 3):
            raise ParameterError(f"An init image must be 1 x 3 x H x W, got {tuple(init.shape)}.")
        return resize_to(init.detach().to("cpu", torch.float32), tuple(content.shape[-2:])).clamp(0, 1)
    base = content.detach().to("cpu", torch.float32)
    if init == "content":
        return base.clone()
    if init == "noise":
        return (base + noise * torch.randn(base.shape, generator=generator)).clamp(0, 1)
    if init == "random":
        return torch.rand(base.shape, generator=generator)
    raise ParameterError(f"Unknown init {init!r}: use one of {INIT_MODES} or an image tensor.")


def run_style_transfer(
    content: ImageSource,
    style: ImageSource | Sequence[ImageSource],
    *,
    alpha: float | None = None,
    beta: float | None = None,
    steps: int = DEFAULT_STEPS,
    init: str | torch.Tensor = "content",
    optimizer: str = "lbfgs",
    content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    style_layer_weights: Sequence[float] | str = "balanced",
    style_blend: Sequence[float] | None = None,
    style_scale: float = 1.0,
    style_masks: Sequence[torch.Tensor] | None = None,
    preserve_color: str | None = None,
    tv_weight: float | None = None,
    size: int | None = None,
    scales: Sequence[int] | str | None = "auto",
    seed: int | None = 0,
    noise: float = 0.2,
    lr: float | None = None,
    callback: Callable[[int, torch.Tensor, History], bool | None] | None = None,
    every: int = 10,
    device: str | torch.device = "cpu",
    progress: bool = True,
    weights: str | os.PathLike = "caffe",
    pooling: str = "max",
    precision: str = "float32",
) -> tuple[torch.Tensor, History]:
    """Gatys' online style transfer: optimise G so that alpha * L_content + beta * L_style falls.

    Parameters
    ----------
    content
        C: ``1 x 3 x H x W`` tensor in [0, 1] or anything :func:`load_image` takes.
        G gets its size.
    style
        S (same kinds), or a list of style images blended by ``style_blend``.
        Each is resized to the content's number of pixels (times
        ``style_scale**2``), keeping its own aspect ratio.
    alpha, beta
        Weights of the content and style losses (>= 0, finite, not both 0).
        Default: :func:`default_weights` for ``weights``. ``alpha=0`` is pure
        texture synthesis, ``beta=0`` a reconstruction from the content alone.
    steps
        Exactly this many evaluations of the objective (forward + backward),
        for L-BFGS as for Adam.
    init
        ``"content"`` (G starts as C), ``"noise"`` (C plus Gaussian noise of std
        ``noise``), ``"random"`` (uniform noise in [0, 1]) or an image tensor.
    optimizer
        ``"lbfgs"`` (default; strong-Wolfe line search, history 100) or ``"adam"`` (``lr``, default 0.02).
    content_layers, style_layers
        VGG19 layer names; a layer may appear in both.
    style_layer_weights
        :math:`w_l`, one per style layer (default 1/len(style_layers) each).
    style_blend
        Weights of several style images (default: equal).
    style_scale
        Scale of the style image relative to the content (2 = style features twice as large).
    style_masks
        Spatial control: one ``1 x 1 x H x W`` mask in [0, 1] per style image, saying
        where in G that style applies; where all masks are 0, G only keeps the content.
    preserve_color
        ``None`` (copy the style's colours), ``"match"`` (recolour S to C's colour mean and
        covariance first) or ``"luminance"`` (transfer on the luminance only, then put C's
        colours back); see :mod:`nst_helpers.color`.
    tv_weight
        Weight of a total-variation (smoothness) term on G (default: :data:`DEFAULT_TV_PER_BETA` times
        beta with balanced layer weights, i.e. 2e6 for the default beta; 0 with other weights, as in the
        paper; 0 = off). The term is small (about 0.01 for a photo), so
        with the caffe weights 1e7 to 1e8 smooths visibly.
    size
        If given, C is resized to this long side first.
    scales
        Coarse-to-fine (Gatys et al. 2017): long sides to optimise at in turn, e.g.
        ``(128, 256, 512)``. Each stage starts from the previous G, upsampled, and has half the
        evaluations of the stage before it (a quarter of the pixels' cost), so most evaluations
        happen at low resolution, where the large brush strokes form cheaply. G gets the last size.
        ``"auto"`` (default): :func:`auto_scales` of G's long side (128 -> 256 -> 512 for 512 px;
        one scale below 256 px; coarse stages too small for the deepest layer or the budget are dropped).
        ``None`` or ``"off"``: one scale.
    seed
        Seed of the noise for ``init="noise"``/``"random"``; same seed and inputs give the same G on a CPU.
    noise
        Std of the noise added to C for ``init="noise"`` (pixel units, 0..1 scale).
    callback
        ``callback(step, G, history)``, called every ``every`` evaluations with
        a copy of G; if it returns True the run stops early (``history.stopped == "callback"``).
    every
        Snapshot and callback interval, in evaluations (for L-BFGS: after the first
        whole iteration that reaches it, so snapshots may be a few evaluations further
        apart). Between optimiser calls the pixels are clamped to [0, 1].
    device
        ``"cpu"`` (default), ``"cuda"``, ``"mps"`` or ``"auto"``.
    progress
        Show a tqdm progress bar.
    weights, pooling
        VGG19 weights (``"caffe"``, ``"torchvision"`` or a path) and pooling (``"max"``/``"avg"``).
    precision
        ``"float32"`` (default): the textbook computation, the same numbers as a hand-written loop.
        ``"auto"``: the fastest path on this machine, the channels-last memory layout plus bfloat16
        where :func:`bf16_is_fast` (measured on a 2-core AVX512-BF16 CPU at 512 px: x1.9 per
        evaluation, final loss within 0.1 % of float32's when both are scored in float32).
        ``"bfloat16"``: that path with bfloat16 forced. Under bfloat16 the forward pass runs under
        autocast (convolutions and Gram products in bfloat16); G, the gradients and the optimiser stay
        float32, and the recorded losses are bfloat16 estimates (about 0.3 % off).

    Returns
    -------
    G : torch.Tensor
        ``1 x 3 x H x W`` in [0, 1] on ``device``: the evaluated image with the
        lowest loss (normally the last one).
    history : History
        Loss curves, snapshots and why the run stopped, if it stopped early.

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) during the run does not lose the work: the run
    ends and returns the best G so far with ``history.stopped == "interrupted"``.
    A NaN or infinite loss ends the run the same way with a warning.
    Pixels stay in range without breaking L-BFGS: the closure never clamps;
    G is clamped only between optimiser calls (every ``every`` evaluations) and at the end.
    """
    call = dict(locals())  # the arguments as given, for the coarse-to-fine stages
    # ---- check everything before any expensive work
    d_alpha, d_beta = default_weights(weights, style_layer_weights)
    alpha = _check_weight(d_alpha if alpha is None else alpha, "alpha")
    beta = _check_weight(d_beta if beta is None else beta, "beta")
    if alpha == 0 and beta == 0:
        raise ParameterError("alpha and beta are both 0, so there is nothing to optimise. Make at least one positive.")
    steps = _check_int(steps, "steps", 1)
    every = _check_int(every, "every", 1)
    if optimizer not in OPTIMIZERS:
        raise ParameterError(f"Unknown optimizer {optimizer!r}: use one of {OPTIMIZERS}.")
    if not isinstance(init, torch.Tensor) and init not in INIT_MODES:
        raise ParameterError(f"Unknown init {init!r}: use one of {INIT_MODES} or an image tensor.")
    content_layers = check_layer_names(content_layers or [], "content layer")
    style_layers = check_layer_names(style_layers or [], "style layer")
    if alpha > 0 and not content_layers:
        raise ParameterError("alpha > 0 but no content layers were given: add content layers, or set alpha=0.")
    if beta > 0 and not style_layers:
        raise ParameterError("beta > 0 but no style layers were given: add style layers, or set beta=0.")
    if isinstance(style_layer_weights, str):
        if style_layer_weights not in LAYER_WEIGHTINGS:
            raise ParameterError(f"Unknown style_layer_weights {style_layer_weights!r}: use one of "
                                 f"{LAYER_WEIGHTINGS} or one number per style layer.")
    elif style_layer_weights is not None:
        style_layer_weights = [_check_weight(w, "a style layer weight") for w in style_layer_weights]
        if len(style_layer_weights) != len(style_layers):
            raise ParameterError(
                f"style_layer_weights has {len(style_layer_weights)} entries but there are "
                f"{len(style_layers)} style layers; give one weight per layer."
            )
    if tv_weight is None:  # a light TV term belongs to the package's objective; the paper's ("equal") has none
        tv_weight = DEFAULT_TV_PER_BETA * beta if style_layer_weights == "balanced" else 0.0
    tv_weight = _check_weight(tv_weight, "tv_weight")
    noise = _check_weight(noise, "noise")
    style_scale = _check_weight(style_scale, "style_scale")
    if style_scale == 0:
        raise ParameterError("style_scale must be > 0 (1 = the style image at the content's size).")
    if lr is not None and _check_weight(lr, "lr") == 0:
        raise ParameterError("lr must be > 0.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ParameterError(f"seed must be a whole number or None, got {seed!r}.")
    if preserve_color is not None and preserve_color not in COLOR_MODES:
        raise ParameterError(f"Unknown preserve_color {preserve_color!r}: use None or one of {COLOR_MODES}.")
    dev = resolve_device(device)
    autocast_bf16 = resolve_precision(precision, dev) == "bfloat16"
    if isinstance(scales, str):
        if scales not in ("auto", "off"):
            raise ParameterError(f"scales must be 'auto', 'off', None or increasing long sides, got {scales!r}.")
        if scales == "auto":
            C0 = load_image(content, size)
            h, w = C0.shape[-2:]
            sides = auto_scales(max(h, w))
            # drop the coarsest stages that the budget or the deepest layer cannot take
            need = min_image_side(list(content_layers) + list(style_layers))
            while len(sides) > 1 and (len(sides) > steps or sides[0] * min(h, w) / max(h, w) < need):
                sides.pop(0)
            call.update(content=C0, size=None, scales=sides)
        else:
            call["scales"] = None
    if call["scales"] is not None:
        call["scales"] = _check_scales(call["scales"], steps)
        if len(call["scales"]) > 1:
            return _coarse_to_fine(call)
        content, size = call["content"], call["scales"][0]  # one stage: just that size

    # ---- images
    C = load_image(content, size)
    styles = [style] if isinstance(style, (str, os.PathLike, torch.Tensor)) or not isinstance(style, Sequence) \
        else list(style)
    S = []
    for s in styles:
        s_img = load_image(s)
        S.append(resize_to(s_img, _style_size(tuple(C.shape[-2:]), tuple(s_img.shape[-2:]), style_scale)))
    C_rgb = C
    if preserve_color == "match":
        S = [match_color(s, C) for s in S]
    elif preserve_color == "luminance":
        C = luminance(C)
        S = [luminance(match_luminance(luminance(s), C)) for s in S]
        if isinstance(init, torch.Tensor):
            init = luminance(init)

    # ---- drop the losses whose weight is 0 (texture synthesis, reconstruction): less to compute
    c_layers = content_layers if alpha > 0 else []
    s_layers = style_layers if beta > 0 else []
    if beta == 0:
        s_weights: list[float] = []
    elif style_layer_weights is None or style_layer_weights in ("equal", "balanced"):
        s_weights = [1.0 / len(style_layers)] * len(style_layers)
    else:
        s_weights = list(style_layer_weights)

    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    G0 = _initial_image(init, C, generator, noise)
    try:
        model, content_losses, style_losses = build_model(
            C.to(dev), [s.to(dev) for s in S], content_layers=c_layers, style_layers=s_layers,
            style_blend=style_blend, style_masks=style_masks, weights=weights, pooling=pooling,
        )
    except (RuntimeError, MemoryError) as exc:
        if _is_oom(exc):
            raise ResourceError(_oom_message(dev, C)) from exc
        raise

    if beta > 0 and style_layer_weights == "balanced":
        s_weights = balanced_weights(model, C.to(dev), style_losses, G0.to(dev))

    # The fast path (precision "auto" or "bfloat16") also uses the channels-last (NHWC) memory layout:
    # the CPU and CUDA convolutions run faster on it (x1.05-1.10 per evaluation on a 2-core AVX-512 CPU,
    # benchmarks/bench_options.py). Its rounding differs from the plain layout, and L-BFGS amplifies
    # such differences, so "float32" keeps the textbook computation that the lectures reproduce exactly.
    # G itself stays contiguous (L-BFGS flattens it); the closure hands the network an NHWC copy.
    channels_last = precision != "float32" and dev.type in ("cpu", "cuda")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    G = G0.to(dev).requires_grad_(True)
    if optimizer == "lbfgs":
        # Strong-Wolfe line search: without it, a bad early curvature estimate can throw the loss up
        # by orders of magnitude (seen: 1e7 -> 1e11 at evaluation 9 on a photo at 256 px).
        opt = torch.optim.LBFGS([G], lr=1.0 if lr is None else lr, max_iter=10**9, max_eval=every,
                                tolerance_grad=0.0, tolerance_change=0.0, history_size=100,
                                line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([G], lr=0.02 if lr is None else lr)

    layer_names = [f"content_{n}" for n in c_layers] + [f"style_{n}" for n in s_layers]
    history = History(layers={n: [] for n in layer_names}, settings=dict(
        alpha=alpha, beta=beta, steps=steps, init=init if isinstance(init, str) else "image",
        optimizer=optimizer, content_layers=list(content_layers), style_layers=list(style_layers),
        seed=seed, size=tuple(C.shape[-2:]), weights=str(weights), pooling=pooling, tv_weight=tv_weight,
        style_scale=style_scale, device=str(dev), preserve_color=preserve_color,
        style_masks=style_masks is not None, precision="bfloat16" if autocast_bf16 else "float32",
        style_layer_weights=list(s_weights), scales=None,
    ))
    history.snapshots.append((0, G.detach().to("cpu").clone()))
    zero = torch.zeros((), device=dev)
    records: list[torch.Tensor] = []  # one small tensor per evaluation, read in bulk (no sync per step)
    best = {"loss": torch.tensor(math.inf, device=dev), "G": G.detach().clone(), "step": torch.zeros((), device=dev)}
    n_content = max(len(content_losses), 1)
    # The optimiser sees L / L(G_0): O(1) numbers whatever alpha and beta are. With the raw loss
    # (about 1e9 for the caffe weights) float32 round-off corrupts L-BFGS's curvature pairs and
    # the run blows up after a few steps. The history keeps the unscaled values.
    scale: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        if history.steps + len(records) >= steps:
            raise _BudgetSpent  # exactly `steps` evaluations, even in the middle of a line search
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast_bf16):
            model(G.contiguous(memory_format=torch.channels_last) if channels_last else G)
        c = sum((cl.loss for cl in content_losses), zero) / n_content
        s = sum((w * sl.loss for w, sl in zip(s_weights, style_losses)), zero)
        loss = alpha * c + beta * s
        if tv_weight > 0:
            loss = loss + tv_weight * tv_loss(G)
        current = loss.detach()
        if not scale:
            scale.append(1.0 / current.clamp_min(1e-12))
        (loss * scale[0]).backward()
        with torch.no_grad():
            records.append(torch.stack([current, c.detach(), s.detach()]
                                       + [m.loss.detach() for m in content_losses]
                                       + [m.loss.detach() for m in style_losses]).float())
            better = current < best["loss"]  # False for NaN: a NaN never becomes the best
            best["loss"] = torch.where(better, current, best["loss"])
            best["G"] = torch.where(better, G.detach(), best["G"])
            step = torch.full((), float(history.steps + len(records)), device=dev)
            best["step"] = torch.where(better, step, best["step"])
        return current * scale[0]

    def flush() -> bool:
        """Move the recorded losses into the history; False if one is NaN or infinite."""
        if not records:
            return True
        values = torch.stack(records).cpu().tolist()
        records.clear()
        for row in values:
            history.total.append(row[0])
            history.content.append(row[1])
            history.style.append(row[2])
            for name, v in zip(layer_names, row[3:]):
                history.layers[name].append(v)
        return all(math.isfinite(row[0]) for row in values)

    bar = _progress_bar(steps, progress, f"style transfer {C.shape[-1]}x{C.shape[-2]}")
    start = time.perf_counter()
    try:
        while history.steps + len(records) < steps:
            try:
                if optimizer == "lbfgs":  # about `every` evaluations per call: a call ends after a whole iteration
                    opt.step(closure)
                else:
                    for _ in range(min(every, steps - history.steps - len(records))):
                        opt.step(closure)
            except _BudgetSpent:
                with torch.no_grad():  # G may sit at an untried point of the line search: take the best tried one
                    G.copy_(best["G"])
            with torch.no_grad():
                G.clamp_(0.0, 1.0)  # outside the closure: L-BFGS never sees a clamped evaluation
            before = history.steps
            finite = flush()
            if not finite:
                history.stopped = "non-finite loss"
                warnings.warn(
                    f"The loss became NaN or infinite at evaluation {history.steps}; the run stopped and "
                    "returns the best finite G so far. Lower beta or lr, or check the input images.",
                    RuntimeWarning, stacklevel=2,
                )
                break
            bar.set_postfix(loss=f"{history.total[-1]:.4g}", refresh=False)
            bar.update(history.steps - before)
            snap = G.detach().to("cpu").clone()
            history.snapshots.append((history.steps, snap))
            if callback is not None and callback(history.steps, snap, history):
                history.stopped = "callback"
                break
    except KeyboardInterrupt:
        flush()
        history.stopped = "interrupted"
        print(f"Interrupted after {history.steps} of {steps} evaluations; returning the best G so far.")
    except (RuntimeError, MemoryError) as exc:
        if _is_oom(exc):
            raise ResourceError(_oom_message(dev, C)) from exc
        raise
    finally:
        bar.close()
    history.seconds = time.perf_counter() - start
    history.best_loss = float(best["loss"])
    history.best_step = int(best["step"])
    result = (best["G"] if history.best_step > 0 else G.detach()).clamp(0.0, 1.0)
    if preserve_color == "luminance":  # put the content's colours back onto the optimised luminance
        C_dev = C_rgb.to(result.device)
        result = combine_luminance(result, C_dev)
        history.snapshots = [(k, combine_luminance(g, C_rgb)) for k, g in history.snapshots]
    return result, history


def _coarse_to_fine(args: dict) -> tuple[torch.Tensor, History]:
    """Run ``run_style_transfer`` at each long side of ``args["scales"]``, each stage from the last G."""
    scales = args.pop("scales")
    steps = args.pop("steps")
    per = stage_steps(steps, len(scales))
    C = load_image(args.pop("content"), args.pop("size"))
    callback = args.pop("callback")
    init = args.pop("init")
    merged = History()
    G = None
    for k, (side, n) in enumerate(zip(scales, per)):
        offset = merged.steps
        stage_cb = None if callback is None else (lambda step, img, h, o=offset: callback(o + step, img, h))
        G, h = run_style_transfer(C, size=side, steps=n, init=init if k == 0 else G, callback=stage_cb, scales=None,
                                  **args)
        merged.total += h.total
        merged.content += h.content
        merged.style += h.style
        for name, values in h.layers.items():
            merged.layers.setdefault(name, []).extend(values)
        merged.snapshots += [(offset + step, img) for step, img in h.snapshots if k == 0 or step > 0]
        if h.best_loss <= merged.best_loss or k > 0:  # losses at another size are not comparable: keep the latest
            merged.best_loss, merged.best_step = h.best_loss, offset + h.best_step
        merged.seconds += h.seconds
        merged.settings = {**h.settings, "scales": scales, "steps": steps}
        if h.stopped:
            merged.stopped = h.stopped
            break
    return G, merged


def _check_scales(scales, steps: int) -> list[int]:
    scales = list(scales) if isinstance(scales, Sequence) else [scales]
    if not scales or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in scales) \
            or scales != sorted(scales):
        raise ParameterError(f"scales must be increasing long sides in pixels, e.g. (128, 256); got {scales}.")
    if steps < len(scales):
        raise ParameterError(f"{steps} steps cannot be split over {len(scales)} scales; use at least one per scale.")
    return scales


def auto_scales(side: int, smallest: int = AUTO_SMALLEST_SIDE) -> list[int]:
    """The default coarse-to-fine schedule for a long side: halve it while it stays >= ``smallest``.

    >>> auto_scales(512), auto_scales(256), auto_scales(128)
    ([128, 256, 512], [128, 256], [128])
    """
    sides = [int(side)]
    while sides[0] // 2 >= smallest:
        sides.insert(0, sides[0] // 2)
    return sides


def stage_steps(steps: int, stages: int) -> list[int]:
    """Split ``steps`` evaluations over coarse-to-fine stages, each with half the evaluations of the one before.

    >>> stage_steps(300, 3)
    [171, 85, 44]
    """
    shares = [2.0 ** (stages - 1 - k) for k in range(stages)]
    per = [max(1, int(steps * w / sum(shares))) for w in shares]
    per[-1] += steps - sum(per)
    return per


class _BudgetSpent(Exception):
    """Raised by the closure when the evaluation budget is spent."""


def _is_oom(exc: BaseException) -> bool:
    """CUDA/MPS out-of-memory errors and the CPU allocator's failure."""
    text = str(exc).lower()
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text \
        or "can't allocate memory" in text


def _oom_message(dev: torch.device, C: torch.Tensor) -> str:
    h, w = C.shape[-2:]
    return (f"Out of memory on {dev} for a {w} x {h} image. Use a smaller size (for example size="
            f"{max(64, max(h, w) // 2)}), fewer or shallower style layers, or the CPU.")


def _progress_bar(total: int, enabled: bool, desc: str = "style transfer"):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="eval", leave=True)
