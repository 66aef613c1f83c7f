r"""The settings of one style transfer: :class:`TransferConfig`, validated once.

Every option of :func:`~nst_helpers.transfer.run_style_transfer` is one field here, with its
default and one line of help. The command line builds its options from these fields, the
explorer's cache key is :meth:`TransferConfig.key`, and a run's :class:`~nst_helpers.history.History`
keeps the config it ran with. Bad values raise :class:`~nst_helpers.errors.ParameterError` when the
config is made, before any image is loaded or any weight decoded.

``None`` in ``alpha``, ``beta``, ``tv_weight`` and ``normalization`` means "the default that belongs
to the other settings"; :meth:`TransferConfig.resolved` fills them in.

alpha and beta here versus the paper
------------------------------------
Our losses are normalised (see :mod:`nst_helpers.losses`): the content loss is a mean over the
:math:`N_l M_l` feature values, the Gram matrix is divided by :math:`N_l M_l`. With the paper's
un-normalised losses, :math:`L^{paper}_{content} = \frac{N_c M_c}{2} L_{content}` and
:math:`E^{paper}_l = \frac{N_l^2}{4} E_l`. So a paper ratio :math:`\alpha_p/\beta_p` corresponds to very
different numbers here, and, unlike the paper's, ours do not depend on the image size (the paper's
ratio silently changes with :math:`M_c`, the number of pixels). Only the ratio beta/alpha matters for
the result (up to the step size of Adam); alpha = 1 by convention. The defaults :data:`DEFAULT_ALPHA`
and :data:`DEFAULT_BETA` belong to the ``"caffe"`` preprocessing (features on a 0..255 scale);
torchvision's weights take inputs on a roughly 0..1 scale, so their features, and Gram matrices, are
much smaller: :func:`default_weights` gives matching values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .color import COLOR_MODES
from .errors import ParameterError
from .guided import check_masks
from .images import check_long_side
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, NORMALIZATIONS
from .runtime import PRECISIONS, check_device
from .vgg import check_layer_names, weights_normalization

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_STEPS",
    "DEFAULT_TV_PER_BETA",
    "DEFAULT_TV_WEIGHT",
    "EQUAL_WEIGHTS_BETA",
    "INIT_MODES",
    "LAYER_WEIGHTINGS",
    "OPTIMIZERS",
    "TransferConfig",
    "check_field",
    "default_weights",
]

#: Content weight alpha (by convention 1).
DEFAULT_ALPHA = 1.0
#: Style weight beta for the default "caffe" weights and the default balanced layer weights, with which
#: L_style(C) = 1 and L_content is an MSE of features on a 0..255 scale (about 1e5 for a good render).
#: Measured at 512 px on the paper's pair (benchmarks/bench_quality.py): beta = 1e6 keeps the photo
#: clearly in front, 3e6 gives the classic look (swirls, stars, the painting's palette, the buildings
#: intact), 1e7 and more bury the content.
DEFAULT_BETA = 3e6
#: beta of the paper's equal layer weights (1/L each) with the caffe weights (the package's default before
#: balanced weights): a visible but light style at 512 px.
EQUAL_WEIGHTS_BETA = 30.0
#: Default weight of the smoothness term, as a fraction of beta: a light prior that removes the finest
#: coloured speckle at 512 px without softening the brush strokes (tv_weight = 2e6 for the default beta;
#: tv_loss of a photo is about 0.01). Tied to beta so that it stays light whatever scale beta has.
DEFAULT_TV_PER_BETA = 2.0 / 3.0
#: The resulting default smoothness weight for :data:`DEFAULT_BETA`.
DEFAULT_TV_WEIGHT = DEFAULT_TV_PER_BETA * DEFAULT_BETA
#: Default number of objective evaluations.
DEFAULT_STEPS = 300
#: Ways to initialise G.
INIT_MODES = ("content", "noise", "random")
#: Named choices of the style layer weights: ``"balanced"`` (see :func:`~nst_helpers.transfer.balanced_weights`)
#: or ``"equal"`` (1 / number of layers each, the paper's choice).
LAYER_WEIGHTINGS = ("balanced", "equal")
#: Optimisers.
OPTIMIZERS = ("lbfgs", "adam")

# torchvision's weights see inputs about 58 times smaller (1/0.226 vs 255), so features are about
# 58x and content losses 58**2x smaller, while the balanced style loss is a ratio (1 for the photo) on
# any scale: beta shrinks by about 58**2 = 3.4e3. (Estimated from that scale, not calibrated: their
# weights need a download we cannot do offline.) With raw layer weights (equal or given numbers) the
# style loss is a Gram MSE, 58**4 smaller for torchvision: beta grows by 58**4 / 58**2.
_TORCHVISION_FACTOR = 3.4e3
_WEIGHT_DEFAULTS = {
    ("caffe", True): (DEFAULT_ALPHA, DEFAULT_BETA),
    ("torchvision", True): (1.0, DEFAULT_BETA / _TORCHVISION_FACTOR),
    ("caffe", False): (DEFAULT_ALPHA, EQUAL_WEIGHTS_BETA),
    ("torchvision", False): (1.0, EQUAL_WEIGHTS_BETA * _TORCHVISION_FACTOR),
}


def default_weights(weights: str | os.PathLike = "caffe",
                    style_layer_weights: Sequence[float] | str = "balanced",
                    normalization: str | None = None) -> tuple[float, float]:
    """Default ``(alpha, beta)`` for a weight set (or its ``normalization``) and a style layer weighting.

    Features of different scale need a different beta: the balanced style loss is a ratio (1 for
    the photo), the equal-weights one a Gram MSE, about 1e5 times larger for the caffe weights.
    What sets the scale is the preprocessing: a state-dict file in torchvision's format
    (``normalization="torchvision"``) gets torchvision's values.
    """
    kind = normalization or weights_normalization(weights)
    return _WEIGHT_DEFAULTS[(kind, isinstance(style_layer_weights, str) and style_layer_weights == "balanced")]


def _option(default, help: str, *, cli: bool = True, **argparse_settings):
    """A config field with one line of help; the command line offers it (``--name``) unless ``cli=False``."""
    return field(default=default, metadata={"help": help, "cli": cli, "argparse": argparse_settings})


@dataclass(frozen=True)
class TransferConfig:
    """Every setting of a style transfer run, checked once when it is made.

    Make one with keywords (``TransferConfig(beta=1e6, steps=150)``), change it with
    ``config.replace(steps=50)``. Sequences are stored as tuples.
    """

    alpha: float | None = _option(None, "content weight (default: default_weights(), 1)", type=float)
    beta: float | None = _option(None, "style weight (default: default_weights(); 3e6 for balanced layer "
                                 "weights, 30 for equal ones, with the caffe weights)", type=float)
    steps: int = _option(DEFAULT_STEPS, "objective evaluations (forward + backward), exactly", type=int)
    init: str | torch.Tensor = _option("content", "how G starts: 'content', 'noise' (C plus noise), 'random' "
                                       "or an image tensor", choices=INIT_MODES)
    noise: float = _option(0.2, "std of the noise added to C for init='noise' (0..1 pixel scale)", type=float)
    seed: int | None = _option(0, "seed of the noise; the same seed and inputs give the same G on a CPU", type=int)
    optimizer: str = _option("lbfgs", "'lbfgs' (strong-Wolfe line search, history 100) or 'adam'",
                             choices=OPTIMIZERS)
    lr: float | None = _option(None, "step size: L-BFGS's first trial step (default 1) or Adam's (0.02)",
                               type=float)
    content_layers: tuple[str, ...] = _option(DEFAULT_CONTENT_LAYERS, "VGG19 layers of the content loss",
                                              nargs="+", metavar="LAYER")
    style_layers: tuple[str, ...] = _option(DEFAULT_STYLE_LAYERS, "VGG19 layers of the style loss",
                                            nargs="+", metavar="LAYER")
    style_layer_weights: str | tuple[float, ...] = _option(
        "balanced", "w_l: 'balanced' (every style layer counts the same, relative to the photo), 'equal' "
        "(the paper's 1/L each) or one number per style layer", metavar="W")
    tv_weight: float | None = _option(None, "weight of the smoothness term on G, tv_loss: mean squared difference "
                                      "of neighbouring pixels (often called TV; true TV is the L1 version) (default: "
                                      f"{DEFAULT_TV_PER_BETA:.3g} x beta with balanced layer weights, else 0)",
                                      type=float)
    size: int | None = _option(None, "long side of G in pixels (default: C's own size)", type=int)
    scales: str | tuple[int, ...] | None = _option(
        "auto", "coarse-to-fine long sides, e.g. 128 256 512 (G gets the last); 'auto' halves the size "
        "down to 128 px; 'off' or None = one scale", nargs="+", metavar="SIDE")
    style_scale: float = _option(1.0, "size of the style's features relative to the content's", type=float)
    style_blend: tuple[float, ...] | None = _option(None, "weights of several style images, one per style",
                                                    type=float, nargs="+", metavar="W")
    style_masks: tuple[torch.Tensor, ...] | None = _option(
        None, "one 1 x 1 x H x W mask in [0, 1] per style image: where in G that style applies", cli=False)
    preserve_color: str | None = _option(None, "keep C's colours: 'luminance' (transfer brightness only) or "
                                         "'match' (recolour S first)", choices=COLOR_MODES)
    weights: str | os.PathLike = _option("caffe", "VGG19 weights: 'caffe', 'torchvision' or a state-dict path")
    normalization: str | None = _option(None, "the weights' input preprocessing, 'caffe' or 'torchvision' "
                                        "(default: the one of the weights; give it for a state-dict file)",
                                        choices=NORMALIZATIONS)
    pooling: str = _option("max", "VGG19's pooling: 'max' (as trained) or 'avg'", choices=("max", "avg"))
    every: int = _option(10, "snapshot and callback interval, in evaluations (never changes G)", cli=False)
    clamp_every: int = _option(10, "evaluations between clamps of G to [0, 1] (the optimiser's call length)",
                               type=int)
    device: str | torch.device | None = _option(None, "'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (default: "
                                                "$NST_DEVICE if set, else 'cpu'; the image then comes back on the CPU)")
    precision: str = _option("float32", "'float32' (the textbook computation), 'bfloat16' or 'auto' "
                             "(bfloat16 and channels-last where fast)", choices=PRECISIONS)
    progress: bool = _option(True, "show a progress bar", cli=False)

    def __post_init__(self) -> None:
        for name, value in _normalised(self).items():
            object.__setattr__(self, name, value)

    def replace(self, **changes) -> TransferConfig:
        """A copy with some fields changed (checked again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ParameterError(f"Unknown setting(s) {sorted(unknown)}; the settings are "
                                 f"{[f.name for f in dataclasses.fields(self)]}.")
        return dataclasses.replace(self, **changes)

    def resolved(self) -> TransferConfig:
        """The same config with the defaults that depend on other fields filled in (alpha, beta, tv, normalization)."""
        normalization = self.normalization or weights_normalization(self.weights)
        d_alpha, d_beta = default_weights(self.weights, self.style_layer_weights, normalization)
        alpha = d_alpha if self.alpha is None else self.alpha
        beta = d_beta if self.beta is None else self.beta
        tv = self.tv_weight
        if tv is None:  # a light smoothness term belongs to the package's objective; the paper's ("equal") has none
            tv = DEFAULT_TV_PER_BETA * beta if self.style_layer_weights == "balanced" else 0.0
        return dataclasses.replace(self, alpha=alpha, beta=beta, tv_weight=tv, normalization=normalization)

    def as_dict(self) -> dict:
        """The fields as a plain dict (tuples as lists, an init or mask tensor as ``"image"`` / ``True``)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                v = "image"
            elif f.name == "style_masks":
                v = v is not None
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, (os.PathLike, torch.device)):
                v = str(v)
            out[f.name] = v
        return out

    def key(self) -> tuple:
        """A hashable summary for caches: equal keys mean the same computation (``every``/``progress`` aside)."""
        return tuple((f.name, _hashable(getattr(self, f.name))) for f in dataclasses.fields(self)
                     if f.name not in ("every", "progress"))


def _hashable(value):
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), hashlib.sha1(value.detach().cpu().float().numpy().tobytes()).hexdigest())
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (os.PathLike, torch.device)):
        return str(value)
    return value


# ---- validation: one function per kind of value, all called from __post_init__

def _number(value, name: str, *, positive: bool = False) -> float:
    """A finite float >= 0 (> 0 with ``positive``)."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v) or v < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}.")
    if positive and v == 0:
        raise ParameterError(f"{name} must be > 0, got {value!r}.")
    return v


def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return value


def _choice(value, name: str, choices: Sequence, *, allow_none: bool = False):
    if (value is None and allow_none) or value in choices:
        return value
    extra = "None or " if allow_none else ""
    raise ParameterError(f"Unknown {name} {value!r}: use {extra}one of {tuple(choices)}.")


def _layers(value, role: str) -> tuple[str, ...]:
    names = check_layer_names(list(value) if value else [], role)
    if len(set(names)) != len(names):
        raise ParameterError(f"The {role}s {names} name a layer twice; list each layer once.")
    return tuple(names)


def _layer_weights(value, n_layers: int):
    if isinstance(value, str):
        return _choice(value, "style_layer_weights", LAYER_WEIGHTINGS)
    if value is None:
        return "equal"
    ws = tuple(_number(w, "a style layer weight") for w in value)
    if len(ws) != n_layers:
        raise ParameterError(f"style_layer_weights has {len(ws)} entries but there are {n_layers} style "
                             "layers; give one weight per layer.")
    return ws


def _scales(value, steps: int):
    if value is None or (isinstance(value, str) and value == "off"):
        return None
    if isinstance(value, str):
        return _choice(value, "scales", ("auto", "off"))
    sides = tuple(value) if isinstance(value, Sequence) else (value,)
    if not sides or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sides) \
            or list(sides) != sorted(sides):
        raise ParameterError(f"scales must be increasing long sides in pixels, e.g. (128, 256); got {list(sides)}.")
    if steps < len(sides):
        raise ParameterError(f"{steps} steps cannot be split over {len(sides)} scales; use at least one per scale.")
    return sides


def _init(value):
    if isinstance(value, torch.Tensor):
        if value.ndim != 4 or value.shape[:2] != (1, 3):
            raise ParameterError(f"An init image must be 1 x 3 x H x W, got {tuple(value.shape)}.")
        if not torch.isfinite(value).all():
            raise ParameterError("The init image has NaN or infinite values; G must start from a picture "
                                 "(values in [0, 1]).")
        return value
    return _choice(value, "init", INIT_MODES)


def _masks(value):
    return None if value is None else tuple(check_masks(value))


def _optional(check):
    return lambda v, name: None if v is None else check(v, name)


#: The check of each field that can be checked on its own (the rest depend on other fields).
_FIELD_CHECKS = {
    "alpha": _optional(_number),
    "beta": _optional(_number),
    "steps": lambda v, name: _whole(v, name, 1),
    "init": lambda v, name: _init(v),
    "noise": _number,
    "optimizer": lambda v, name: _choice(v, name, OPTIMIZERS),
    "lr": _optional(lambda v, name: _number(v, name, positive=True)),
    "content_layers": lambda v, name: _layers(v, "content layer"),
    "style_layers": lambda v, name: _layers(v, "style layer"),
    "tv_weight": _optional(_number),
    "size": _optional(lambda v, name: check_long_side(v)),
    "style_scale": lambda v, name: _number(v, name, positive=True),
    "style_blend": _optional(lambda v, name: tuple(_number(w, "a style_blend weight") for w in v)),
    "style_masks": lambda v, name: _masks(v),
    "preserve_color": lambda v, name: _choice(v, name, COLOR_MODES, allow_none=True),
    "normalization": lambda v, name: _choice(v, name, NORMALIZATIONS, allow_none=True),
    "pooling": lambda v, name: _choice(v, name, ("max", "avg")),
    "every": lambda v, name: _whole(v, name, 1),
    "clamp_every": lambda v, name: _whole(v, name, 1),
    "device": lambda v, name: check_device(v),
    "precision": lambda v, name: _choice(v, name, PRECISIONS),
}


def check_field(name: str, value):
    """One setting checked on its own and in its canonical form (a ParameterError if it is bad).

    For a view that changes one value at a time (the explorer's sliders); settings that depend on
    each other (alpha and beta both 0, layer weights per layer, ...) are checked when the
    :class:`TransferConfig` is made.
    """
    if name not in _FIELD_CHECKS:
        raise ParameterError(f"Unknown setting {name!r}; the settings checked one by one are {sorted(_FIELD_CHECKS)}.")
    return _FIELD_CHECKS[name](value, name)


def _normalised(c: TransferConfig) -> dict:
    """Every field checked and in its canonical form; raises ParameterError for the first bad one."""
    out = {name: check(getattr(c, name), name) for name, check in _FIELD_CHECKS.items()}
    out["style_layer_weights"] = _layer_weights(c.style_layer_weights, len(out["style_layers"]))
    out["scales"] = _scales(c.scales, out["steps"])
    if c.seed is not None and (isinstance(c.seed, bool) or not isinstance(c.seed, int)
                               or not -2**63 <= c.seed < 2**64):
        raise ParameterError(f"seed must be None or a whole number from -2**63 to 2**64 - 1 (PyTorch's range), "
                             f"got {c.seed!r}.")
    if out["alpha"] == 0 and out["beta"] == 0:
        raise ParameterError("alpha and beta are both 0, so there is nothing to optimise. Make at least one positive.")
    if out["alpha"] != 0 and not out["content_layers"]:  # None: the default, which is > 0
        raise ParameterError("alpha > 0 but no content layers were given: add content layers, or set alpha=0.")
    if out["beta"] != 0 and not out["style_layers"]:
        raise ParameterError("beta > 0 but no style layers were given: add style layers, or set beta=0.")
    return out
