"""Checks for the homework notebooks: tell a student what is wrong, not just that it is wrong.

Each ``check_<exercise>`` takes the student's function or class, runs it on
tiny seeded tensors and compares it with the package's own implementation
(:mod:`nst_helpers.losses`, :mod:`nst_helpers.model`) with a relative
tolerance, checks properties that any correct answer has (the loss of A with A
is 0, a Gram matrix is N x N, symmetric and blind to shuffled positions, ...),
and recognises the classic mistakes by their fingerprint:

===========================  ====================================================
check                        the mistakes it names
===========================  ====================================================
:func:`check_gram_matrix`    a reshape that mixes channels and positions
                             (``F.view(H*W, N)``); the transposed product
                             (H*W x H*W); a missing or wrong normalisation
                             (found by its exact factor, e.g. N*H*W); a dropped
                             or flattened batch dimension; a result cut off from
                             autograd; an input changed in place
:func:`check_content_loss`   returning the loss instead of the input; a sum
                             instead of a mean (factor N*H*W); the paper's 1/2;
                             a target that is not detached; a loss that
                             accumulates over forward passes; ``.item()``
:func:`check_style_loss`     the same, plus Gram matrices that are not
                             normalised (factor (N*H*W)^2), comparing feature
                             maps instead of Gram matrices, a target that must
                             have the input's size
:func:`check_build_model`    an in-place ReLU overwriting a tensor a loss layer
                             keeps; a model that is not trimmed after the last
                             loss layer; a loss layer in the wrong place; targets
                             from the wrong image; a missing normalisation
:func:`check_closure`        a missing ``zero_grad`` (gradients accumulate); no
                             ``backward``; ``zero_grad`` after ``backward``;
                             alpha and beta swapped; summed style layers; a
                             forward pass outside the closure; G changed inside
                             the closure
:func:`check_texture`        an image that is not a texture of S (Gram
                             matrices far from S's), a copy of S (also shifted
                             or mirrored), a flat image, pixels outside [0, 1]
===========================  ====================================================

A check raises :class:`CheckFailed` (an ``AssertionError``) whose message says
what was expected, what was found, and the likely mistake; a blank exercise
(still raising ``NotImplementedError``) gives :class:`NotImplementedYet`. On
success it prints one short line. The checks accept *any* correct
implementation (einsum or matmul, ``F.mse_loss`` or a hand-written mean, ...):
they compare numbers with tolerances, never code.

:func:`load_vgg19_inplace` gives the VGG19 feature stack with in-place ReLUs,
as ``torchvision.models.vgg19().features`` has them, for the model-assembly
exercise.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import losses as _ref
from .model import Normalization, build_model, extract_features
from .vgg import LAYER_NAMES, load_vgg19

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "check_build_model",
    "check_closure",
    "check_content_loss",
    "check_gram_matrix",
    "check_style_loss",
    "check_texture",
    "load_vgg19_inplace",
    "texture_score",
    "tiny_vgg",
]


class CheckFailed(AssertionError):
    """A homework check found a mistake; the message says what was expected, what was found and why."""


class NotImplementedYet(CheckFailed):
    """The exercise is still blank: the student's code raised ``NotImplementedError``."""


# --------------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _small_work():
    """Run tiny tensors on one thread (and with gradients on): thread hand-offs cost more than the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            yield
    finally:
        torch.set_num_threads(threads)


def _num(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def _fail(check: str, problem: str, *, expected: Any = None, found: Any = None, hint: str | None = None,
          cause: BaseException | None = None):
    lines = [f"{check}: {problem}"]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if found is not None:
        lines.append(f"  found:    {found}")
    if hint:
        lines.append(f"  likely mistake: {hint}")
    err = CheckFailed("\n".join(lines))
    if cause is not None:
        raise err from cause
    raise err


def _passed(check: str, what: str, cheer: str) -> None:
    print(f"{check} passed: {what}. {cheer}")


def _call(check: str, what: str, fn: Callable, *args, hint: str | None = None, **kwargs):
    """Call student code; a NotImplementedError becomes NotImplementedYet, any other error a CheckFailed."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotImplementedYet(
            f"{check}: {what} is not implemented yet (it raised NotImplementedError).\n"
            "  Replace the two lines `# YOUR CODE HERE` and `raise NotImplementedError()` with your code, "
            "run that cell again, then run this check."
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:
        _fail(check, f"{what} raised an error.", expected="it runs without an error",
              found=f"{type(exc).__name__}: {exc}",
              hint=hint or "read the error above; the traceback shows the line of your code that failed.",
              cause=exc)


def _require_callable(check: str, obj: Any, what: str) -> None:
    if not callable(obj):
        _fail(check, f"expected {what}, got {type(obj).__name__} {obj!r:.60}.",
              hint="pass the function or class itself, without calling it (no parentheses).")


def _shape(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return str(tuple(x.shape))
    return type(x).__name__


def _relerr(found: torch.Tensor, expected: torch.Tensor) -> float:
    f = found.detach().double().reshape(-1)
    e = expected.detach().double().reshape(-1)
    return float((f - e).norm() / e.norm().clamp_min(1e-30))


def _close(found: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-4) -> bool:
    if not isinstance(found, torch.Tensor) or found.shape != expected.shape:
        return False
    if not torch.isfinite(found.detach()).all():
        return False
    return _relerr(found, expected) < rtol


def _scale_factor(found: torch.Tensor, expected: torch.Tensor) -> float | None:
    """k if ``found`` is ``k * expected`` (up to round-off), else None."""
    f = found.detach().double().reshape(-1)
    e = expected.detach().double().reshape(-1)
    if f.numel() != e.numel() or not torch.isfinite(f).all():
        return None
    ee = float((e * e).sum())
    if ee == 0:
        return None
    k = float((f * e).sum()) / ee
    if k == 0:
        return None
    resid = float((f - k * e).norm() / f.norm().clamp_min(1e-300))
    return k if resid < 1e-3 else None


def _matches(k: float | None, value: float, rtol: float = 2e-3) -> bool:
    return k is not None and abs(k / value - 1) < rtol


def _fmt_tensor(x: torch.Tensor, n: int = 4) -> str:
    flat = x.detach().double().reshape(-1)
    head = ", ".join(f"{v:.4g}" for v in flat[:n].tolist())
    return f"[{head}{', ...' if flat.numel() > n else ''}]"


def _seeded(shape: Sequence[int], seed: int, positive: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    return x.abs() + 0.1 if positive else x


def _shuffle_positions(x: torch.Tensor, seed: int = 7) -> torch.Tensor:
    b, n, h, w = x.shape
    perm = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
    return x.reshape(b, n, h * w)[:, :, perm].reshape(b, n, h, w)


# --------------------------------------------------------------------------------------------- Gram matrix

_GRAM = "check_gram_matrix"


def _gram_value_hint(found: torch.Tensor, x: torch.Tensor) -> str | None:
    """Name the mistake behind a Gram matrix of the right shape but the wrong values."""
    b, n, h, w = x.shape
    expected = _ref.gram_matrix(x)
    k = _scale_factor(found, expected)
    m = n * h * w
    if _matches(k, m):
        return (f"missing normalisation: your values are exactly N*H*W = {n}*{h}*{w} = {m} times too large. "
                "Divide F F^T by N*H*W (the number of maps times the number of positions).")
    if _matches(k, n):
        return (f"your values are exactly N = {n} times too large: you divided by H*W only. "
                "Divide by N*H*W.")
    if _matches(k, h * w):
        return (f"your values are exactly H*W = {h * w} times too large: you divided by N only. "
                "Divide by N*H*W.")
    if _matches(k, 1 / m):
        return f"your values are N*H*W = {m} times too small: you divided by N*H*W twice."
    if _matches(k, 1 / b) and b > 1:
        return (f"your values are {b} (the batch size) times too small: the normalisation must not include "
                "the batch size B. Each image's Gram matrix is its own: divide by N*H*W, not B*N*H*W.")
    if k is not None:
        return (f"your values are all {k:.6g} times the expected ones: the product is right, the "
                "normalisation is not. Divide F F^T by N*H*W, nothing else.")
    mixed = x.reshape(b, h * w, n)
    if _scale_factor(found, mixed.transpose(1, 2) @ mixed) is not None:
        return ("a reshape that mixes channels and positions: features.view(B, H*W, N) (or .view(H*W, N)) "
                "is not the transpose of the N x (H*W) matrix; it cuts the numbers into rows of the wrong "
                "length, so one 'row' holds values of several maps. Reshape to (B, N, H*W) and transpose "
                "with .transpose(1, 2).")
    if _relerr(found, found.transpose(-1, -2)) > 1e-4:
        return "your result is not symmetric: a Gram matrix is F F^T, whose entry (i, j) equals entry (j, i)."
    return None


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check a student's ``gram_matrix(features)``: ``B x N x H x W`` -> ``B x N x N``, divided by ``N*H*W``.

    Raises :class:`CheckFailed` with the likely mistake, or :class:`NotImplementedYet`; prints a line on success.
    """
    _require_callable(_GRAM, fn, "a function gram_matrix(features)")
    what = "your gram_matrix"
    with _small_work():
        x = _seeded((1, 3, 4, 5), seed=1)  # N = 3, H*W = 20, N*H*W = 60: every factor is distinct
        b, n, h, w = x.shape
        x_before = x.clone()
        out = _call(_GRAM, f"{what}(features) for features of shape {tuple(x.shape)}", fn, x)

        # 1. a tensor of shape B x N x N
        if not isinstance(out, torch.Tensor):
            hint = ("use torch operations (reshape, @ or torch.bmm) and return their tensor; converting to "
                    "NumPy also cuts the result off from autograd.") if out is not None else \
                "the function has no `return` statement (or returns nothing)."
            _fail(_GRAM, "gram_matrix must return a torch.Tensor.", expected="a tensor of shape (1, 3, 3)",
                  found=f"{type(out).__name__}", hint=hint)
        if not torch.equal(x, x_before):
            _fail(_GRAM, "your gram_matrix changed its input in place.",
                  expected="the features unchanged after the call", found="different values in features",
                  hint="an in-place operation such as features.div_(...) or features /= ...; write "
                       "features / ... to make a new tensor instead.")
        if tuple(out.shape) != (b, n, n):
            found = tuple(out.shape)
            if found == (b, h * w, h * w) or found == (h * w, h * w):
                hint = ("the transposed product: with F of shape N x (H*W), F^T F is an (H*W) x (H*W) matrix "
                        "comparing positions. The Gram matrix compares maps: F F^T, N x N.")
            elif found == (n, n):
                hint = ("the batch dimension is gone: for features of shape B x N x H x W return B x N x N "
                        "(here 1 x 3 x 3). Reshape to (B, N, H*W) and multiply with torch.bmm or @.")
            elif found == (b, n, h * w) or found == (n, h * w):
                hint = "you returned the reshaped features; multiply them by their transpose."
            else:
                hint = ("reshape the features to (B, N, H*W) (one row per map) and multiply by the "
                        "transpose: (B, N, H*W) @ (B, H*W, N) -> (B, N, N).")
            _fail(_GRAM, "the Gram matrix has the wrong shape.",
                  expected=f"(B, N, N) = {(b, n, n)} for features of shape (B, N, H, W) = {tuple(x.shape)}",
                  found=str(found), hint=hint)

        # 2. known answer
        expected = _ref.gram_matrix(x)
        if not _close(out, expected):
            hint = _gram_value_hint(out, x)
            _fail(_GRAM, "the values of the Gram matrix are wrong.", expected=_fmt_tensor(expected),
                  found=_fmt_tensor(out),
                  hint=hint or "check each step on paper with a 1 x 2 x 1 x 2 tensor: reshape to (B, N, H*W), "
                               "multiply by the transpose, divide by N*H*W.")

        # 3. properties: symmetric, blind to shuffled positions
        if _relerr(out, out.transpose(-1, -2)) > 1e-5:
            _fail(_GRAM, "the Gram matrix is not symmetric.", found=_fmt_tensor(out - out.transpose(-1, -2)),
                  expected="G == G.transpose(-1, -2)")
        shuffled = _call(_GRAM, f"{what} on shuffled features", fn, _shuffle_positions(x))
        if not _close(shuffled, out, 1e-4):
            _fail(_GRAM, "shuffling the positions of the features changed the Gram matrix.",
                  expected="the same Gram matrix (it sums over positions, so their order cannot matter)",
                  found="a different one",
                  hint="the reshape mixes channels and positions; reshape to (B, N, H*W).")

        # 4. a batch of two different images, and another size (nothing hard-coded)
        xb = _seeded((2, 4, 3, 2), seed=2)
        outb = _call(_GRAM, f"{what} on a batch of shape {tuple(xb.shape)}", fn, xb)
        expb = _ref.gram_matrix(xb)
        if not isinstance(outb, torch.Tensor) or tuple(outb.shape) != (2, 4, 4):
            found = _shape(outb)
            hint = ("you flattened the batch into the maps (a view of shape (B*N, H*W)): the Gram matrix of "
                    "image b must only compare the maps of image b. Reshape to (B, N, H*W) and use torch.bmm "
                    "(or @, which multiplies batch by batch).") if found in (str((8, 8)), str((1, 8, 8))) else \
                "use the sizes of the input (B, N, H, W = features.shape), never fixed numbers."
            _fail(_GRAM, "wrong shape for a batch of 2 images.", expected="(2, 4, 4)", found=found, hint=hint)
        if not _close(outb, expb):
            k = _scale_factor(outb, expb)
            hint = _gram_value_hint(outb, xb) if k is not None else \
                "the Gram matrix of each image must be computed on its own maps only (torch.bmm or @)."
            _fail(_GRAM, "wrong values for a batch of 2 images (the single image was right).",
                  expected=_fmt_tensor(expb), found=_fmt_tensor(outb), hint=hint)
        xo = _seeded((1, 6, 7, 3), seed=3)
        outo = _call(_GRAM, f"{what} on features of shape {tuple(xo.shape)}", fn, xo)
        if not _close(outo, _ref.gram_matrix(xo)):
            _fail(_GRAM, f"wrong result for features of shape {tuple(xo.shape)} (the first test was right).",
                  expected=f"shape (1, 6, 6), values {_fmt_tensor(_ref.gram_matrix(xo))}",
                  found=f"shape {_shape(outo)}, values "
                        f"{_fmt_tensor(outo) if isinstance(outo, torch.Tensor) else outo}",
                  hint="use the sizes of the input (B, N, H, W = features.shape), never fixed numbers.")

        # 5. gradients must flow through it (the style loss backpropagates into G through the Gram matrix)
        xg = x.clone().requires_grad_(True)
        outg = _call(_GRAM, what, fn, xg)
        if not outg.requires_grad:
            _fail(_GRAM, "the Gram matrix is cut off from autograd.",
                  expected="a result with requires_grad=True for features with requires_grad=True",
                  found="requires_grad=False",
                  hint="a .detach(), .numpy(), .data or torch.no_grad() inside gram_matrix: the style loss "
                       "needs gradients through the Gram matrix to change G.")
    _passed(_GRAM, "shape N x N, known values, symmetric, blind to positions, batches, gradients",
            "Well done: this is the heart of the style loss.")


# --------------------------------------------------------------------------------------------- loss layers


def _check_forward_output(check: str, out: Any, x: torch.Tensor, cls_name: str) -> None:
    if out is None:
        _fail(check, f"{cls_name}.forward returned None.", expected=f"its input, a tensor of shape {tuple(x.shape)}",
              found="None", hint="end forward with `return input`: a loss layer sits inside nn.Sequential, "
                                 "so the next VGG layer needs the features passed on unchanged.")
    if isinstance(out, torch.Tensor) and out.numel() == 1 and x.numel() > 1:
        _fail(check, f"{cls_name}.forward returned the loss instead of its input.",
              expected=f"the input features, shape {tuple(x.shape)}", found=f"a single number, shape {_shape(out)}",
              hint="store the loss in self.loss and `return input`: inside nn.Sequential the next VGG layer "
                   "receives whatever forward returns.")
    if not isinstance(out, torch.Tensor) or out.shape != x.shape or not torch.equal(out.detach(), x.detach()):
        _fail(check, f"{cls_name}.forward must return its input unchanged.",
              expected=f"the input, shape {tuple(x.shape)}, same values", found=f"{_shape(out)}",
              hint="a loss layer only watches: compute self.loss, then `return input`.")


def _get_loss(check: str, layer: nn.Module, cls_name: str) -> torch.Tensor:
    if not hasattr(layer, "loss"):
        _fail(check, f"after a forward pass, {cls_name} has no attribute `loss`.",
              expected="self.loss set in forward", found="no self.loss",
              hint="write `self.loss = ...` inside forward (a local variable `loss` disappears after the call).")
    loss = layer.loss
    if isinstance(loss, (float, int)):
        _fail(check, "self.loss is a Python number, not a tensor.", expected="a 0-d tensor connected to autograd",
              found=f"{type(loss).__name__} {loss!r}",
              hint="drop the .item() (or float(...)): the optimiser needs loss.backward(), which only a "
                   "tensor has.")
    if not isinstance(loss, torch.Tensor):
        _fail(check, "self.loss must be a tensor.", expected="a 0-d tensor", found=type(loss).__name__)
    if loss.numel() != 1:
        _fail(check, "self.loss must be a single number.", expected="a 0-d tensor (shape ())",
              found=f"shape {tuple(loss.shape)}",
              hint="average the squared differences over all entries: .mean() (or F.mse_loss, whose default "
                   "reduction is the mean); reduction='none' keeps one value per entry.")
    return loss


def _check_loss_layer(check: str, cls: type, kind: str) -> None:
    """Shared checks of ContentLoss (kind='content') and StyleLoss (kind='style')."""
    name = "ContentLoss" if kind == "content" else "StyleLoss"
    _require_callable(check, cls, f"the class {name} (not an instance)")

    def reference(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if kind == "content":
            return F.mse_loss(x, t)
        return F.mse_loss(_ref.gram_matrix(x), _ref.gram_matrix(t))

    with _small_work():
        t = _seeded((1, 3, 4, 5), seed=11, positive=kind == "style")
        x = _seeded((1, 3, 4, 5), seed=12, positive=kind == "style")
        n, h, w = x.shape[1:]
        m = n * h * w
        layer = _call(check, f"{name}(target) with a target of shape {tuple(t.shape)}", cls, t)
        if not isinstance(layer, nn.Module):
            _fail(check, f"{name}(target) must create an nn.Module.", found=type(layer).__name__,
                  hint=f"declare `class {name}(nn.Module):` and call super().__init__() first in __init__.")
        out = _call(check, f"{name}.forward on features of shape {tuple(x.shape)}", layer, x)
        _check_forward_output(check, out, x, name)
        loss = _get_loss(check, layer, name)
        expected = reference(x, t)

        # known answer, with the classic factors recognised
        if not _close(loss.reshape(()), expected):
            k = _num(loss) / _num(expected)
            d = x - t
            if kind == "content":
                candidates = [
                    (m, f"a sum instead of a mean: your loss is exactly N*H*W = {m} times too large. Use "
                        "the mean of the squared differences (.mean() or F.mse_loss)."),
                    (m / 2, f"the paper's 1/2 * sum: your loss is exactly N*H*W/2 = {m / 2:g} times ours. This "
                            "package uses the mean squared error (see nst_helpers.losses)."),
                    (0.5, "your loss is exactly half the expected one: drop the factor 1/2 and use the plain mean."),
                ]
                if abs(_num(loss) / _num(d.abs().mean()) - 1) < 1e-3:
                    _fail(check, "the loss value is wrong.", expected=f"{_num(expected):.6g}",
                          found=f"{_num(loss):.6g}", hint="you averaged |input - target| (no square): "
                                                           "square the differences.")
                if abs(_num(loss) / math.sqrt(_num(expected)) - 1) < 1e-3:
                    _fail(check, "the loss value is wrong.", expected=f"{_num(expected):.6g}",
                          found=f"{_num(loss):.6g}", hint="you took the square root (a root-mean-square "
                                                           "error); the loss is the mean squared error.")
            else:
                gram_x, gram_t = _ref.gram_matrix(x), _ref.gram_matrix(t)
                candidates = [
                    (m ** 2, f"your Gram matrices are not normalised: the loss is exactly (N*H*W)^2 = {m ** 2} "
                             f"times too large. Divide F F^T by N*H*W = {m}."),
                    (n * n, f"a sum over the N x N entries instead of a mean: the loss is exactly N^2 = {n * n} "
                            "times too large. Use the mean (F.mse_loss)."),
                    (n * n / 4, f"the paper's 1/4 * sum: your loss is exactly N^2/4 = {n * n / 4:g} times ours. "
                                "This package uses the mean squared error of normalised Gram matrices."),
                    ((m ** 2) * n * n, "Gram matrices not normalised, and a sum instead of a mean."),
                    (0.5, "your loss is exactly half the expected one: drop the factor 1/2 and use the plain mean."),
                ]
                if abs(_num(loss) / _num(F.mse_loss(x, t)) - 1) < 1e-3:
                    _fail(check, "the loss value is wrong.", expected=f"{_num(expected):.6g}",
                          found=f"{_num(loss):.6g}", hint="you compared the feature maps themselves; the style "
                                                           "loss compares their Gram matrices.")
                one_sided = (F.mse_loss(gram_x, gram_t * m), F.mse_loss(gram_x * m, gram_t))
                if any(abs(_num(loss) / _num(v) - 1) < 1e-3 for v in one_sided):
                    _fail(check, "the loss value is wrong.", expected=f"{_num(expected):.6g}",
                          found=f"{_num(loss):.6g}", hint="only one of the two Gram matrices (input or target) "
                                                           "is divided by N*H*W; use the same gram_matrix "
                                                           "for both.")
            for value, hint in candidates:
                if _matches(k, value):
                    _fail(check, "the loss value is off by a constant factor.", expected=f"{_num(expected):.6g}",
                          found=f"{_num(loss):.6g} (= {k:.6g} x expected)", hint=hint)
            _fail(check, "the loss value is wrong.", expected=f"{_num(expected):.6g}", found=f"{_num(loss):.6g}",
                  hint=("self.loss = mean((input - target)**2) over all entries, e.g. F.mse_loss(input, "
                        "self.target).") if kind == "content" else
                  ("self.loss = mean((gram(input) - gram(target))**2): compare the Gram matrix of the input "
                   "with the Gram matrix of the target, computed once in __init__."))

        # the loss of A with A is 0
        same = _call(check, f"{name}(A)", cls, x.clone())
        _call(check, f"{name}.forward", same, x.clone())
        self_loss = _get_loss(check, same, name)
        if abs(_num(self_loss)) > 1e-6 * _num(expected):
            _fail(check, "the loss of A with itself is not 0.", expected="0", found=f"{_num(self_loss):.6g}",
                  hint="the loss must compare input with target and nothing else.")

        # the loss is recomputed, not accumulated
        _call(check, f"a second {name}.forward", layer, x)
        again = _get_loss(check, layer, name)
        if not _close(again.reshape(()), expected):
            k = _num(again) / _num(expected)
            _fail(check, "the loss changed when forward ran twice on the same input.",
                  expected=f"{_num(expected):.6g} both times", found=f"{_num(again):.6g} the second time",
                  hint="self.loss accumulates (self.loss += ...); assign it: self.loss = ..." if _matches(k, 2)
                  else "forward must compute self.loss from the input alone, the same way each call.")

        # gradients reach the input, never the target
        src = t.clone().requires_grad_(True)
        live_target = src * 1.0  # still attached to src's graph, as a target computed by a network would be
        layer2 = _call(check, f"{name}(target) with a target that requires grad", cls, live_target)
        xg = x.clone().requires_grad_(True)
        _call(check, f"{name}.forward", layer2, xg)
        loss2 = _get_loss(check, layer2, name)
        if not loss2.requires_grad:
            _fail(check, "self.loss is cut off from autograd: no gradient can reach G.",
                  expected="self.loss.requires_grad == True for an input that requires grad",
                  found="requires_grad == False",
                  hint="a .detach(), .data, .item() or torch.no_grad() on the input side; only the target is "
                       "detached.")
        try:
            loss2.backward()
        except RuntimeError as exc:
            _fail(check, f"loss.backward() failed: {exc}", hint="the target must be detached in __init__: "
                                                                "self.target = target.detach().", cause=exc)
        if src.grad is not None and _num(src.grad.abs().sum()) > 0:
            _fail(check, "the target is not detached: the gradient of the loss flows into the target.",
                  expected="no gradient for the target (it is a constant)", found="a nonzero gradient",
                  hint="store self.target = target.detach() in __init__; otherwise backward also runs into "
                       "the network that produced the target (and fails the second time).")
        if xg.grad is None:
            _fail(check, "no gradient reached the input.", hint="self.loss must be computed from the input "
                                                              "with torch operations.")
        xg_ref = x.clone().requires_grad_(True)
        reference(xg_ref, t).backward()
        if not _close(xg.grad, xg_ref.grad, 1e-3):
            _fail(check, "the gradient with respect to the input is wrong.", expected=_fmt_tensor(xg_ref.grad),
                  found=_fmt_tensor(xg.grad))

        if kind == "style":
            # Gram matrices do not depend on the image size: G and S may have different sizes
            t_big = _seeded((1, 3, 6, 5), seed=13, positive=True)
            layer3 = _call(check, f"{name}(target) with a target of shape {tuple(t_big.shape)}", cls, t_big)
            _call(check, f"{name}.forward on features of shape {tuple(x.shape)} (target {tuple(t_big.shape)})",
                  layer3, x, hint="the style target must not need the input's size: compare Gram matrices "
                                  "(N x N), not feature maps. The target's Gram matrix is computed once in __init__.")
            loss3 = _get_loss(check, layer3, name)
            exp3 = reference(x, t_big)
            if not _close(loss3.reshape(()), exp3):
                _fail(check, "wrong loss when the style features are larger than the input's.",
                      expected=f"{_num(exp3):.6g}", found=f"{_num(loss3):.6g}",
                      hint="compute the target Gram matrix from the target features in __init__ and compare "
                           "it with gram(input) in forward.")
            layer4 = _call(check, f"{name}(target)", cls, t)
            _call(check, f"{name}.forward on shuffled features", layer4, _shuffle_positions(x))
            loss4 = _get_loss(check, layer4, name)
            if not _close(loss4.reshape(()), expected):
                _fail(check, "shuffling the positions of the input changed the style loss.",
                      expected=f"{_num(expected):.6g}", found=f"{_num(loss4):.6g}",
                      hint="the style loss must only see Gram matrices, which ignore where features occur.")


def check_content_loss(cls: type) -> None:
    """Check a student's ``ContentLoss(target)`` layer: MSE of the features, returns its input, stores ``self.loss``."""
    _check_loss_layer("check_content_loss", cls, "content")
    _passed("check_content_loss", "known values, loss(A, A) = 0, returns its input, detached target, gradients",
            "Nice: the content half of the objective is done.")


def check_style_loss(cls: type) -> None:
    """Check a student's ``StyleLoss(target_features)`` layer: MSE of the (normalised) Gram matrices."""
    _check_loss_layer("check_style_loss", cls, "style")
    _passed("check_style_loss", "known values, loss(A, A) = 0, any image size, blind to positions, detached "
                                "target, gradients", "Great: both loss layers work.")


# --------------------------------------------------------------------------------------------- model assembly

#: Channels per block of the tiny VGG used by the checks (the real one: 64, 128, 256, 512, 512).
_TINY_CHANNELS = {1: 4, 2: 6, 3: 8, 4: 8, 5: 8}


def tiny_vgg(inplace: bool = False, seed: int = 0) -> nn.Sequential:
    """A VGG19-shaped stack with the real layer names but 4-8 channels and random weights (for fast checks).

    ``inplace=True`` makes its ReLUs work in place, as torchvision's VGG19 does.
    """
    g = torch.Generator().manual_seed(seed)
    layers = []
    in_ch = 3
    for name in LAYER_NAMES:
        if name.startswith("conv"):
            out_ch = _TINY_CHANNELS[int(name[4])]
            conv = nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2.0 / (9 * in_ch)))
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
            layers.append((name, conv))
            in_ch = out_ch
        elif name.startswith("relu"):
            layers.append((name, nn.ReLU(inplace=inplace)))
        else:
            layers.append((name, nn.MaxPool2d(kernel_size=2, stride=2)))
    model = nn.Sequential(OrderedDict(layers)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_vgg19_inplace(last_layer: str | None = None, weights: str = "caffe") -> nn.Sequential:
    """:func:`~nst_helpers.vgg.load_vgg19`, but with ``nn.ReLU(inplace=True)`` as in ``torchvision.models.vgg19()``.

    The model-assembly homework starts from this stack: in place, a ReLU
    overwrites its input, which is harmless for classification but not when a
    loss layer keeps that input.
    """
    vgg = load_vgg19(weights, last_layer=last_layer)
    for layer in vgg:
        if isinstance(layer, nn.ReLU):
            layer.inplace = True
    return vgg


def _small_image(h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 4), max(2, w // 4), generator=g)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


_BUILD = "check_build_model"


def check_build_model(fn: Callable) -> None:
    """Check a student's ``build_model(vgg, normalization, content, style, content_layers, style_layers)``.

    It must return ``(model, content_losses, style_losses)``: an ``nn.Sequential``
    of the normalization, the VGG layers up to the last loss layer, and a loss
    layer right after each chosen layer, with no in-place ReLU that overwrites a
    tensor a loss layer keeps. The check uses a tiny VGG-shaped network with
    in-place ReLUs, loss layers after convolutions (where in-place ReLUs do harm),
    and compares the losses and gradients with :func:`nst_helpers.model.build_model`.
    """
    _require_callable(_BUILD, fn, "a function build_model(vgg, normalization, content, style, content_layers, "
                                  "style_layers)")
    content_layers = ["conv3_1"]
    style_layers = ["relu1_1", "conv2_1", "relu3_1"]
    last = "relu3_1"
    C = _small_image(16, 16, seed=21)
    S = _small_image(16, 16, seed=22)
    norm = Normalization("caffe")
    with _small_work():
        result = _call(_BUILD, "your build_model", fn, tiny_vgg(inplace=True), norm, C, S,
                       list(content_layers), list(style_layers))
        if not isinstance(result, tuple) or len(result) != 3:
            _fail(_BUILD, "build_model must return three things.",
                  expected="(model, content_losses, style_losses)", found=f"{type(result).__name__}",
                  hint="end with `return model, content_losses, style_losses`.")
        model, c_losses, s_losses = result
        if not isinstance(model, nn.Sequential):
            _fail(_BUILD, "the model must be an nn.Sequential.", found=type(model).__name__,
                  hint="collect the modules in a list and build nn.Sequential(*modules) (or add_module one by one).")
        for got, want, what in ((c_losses, content_layers, "content"), (s_losses, style_layers, "style")):
            if not isinstance(got, (list, tuple)) or len(got) != len(want):
                _fail(_BUILD, f"wrong number of {what} loss layers returned.",
                      expected=f"a list of {len(want)} ({', '.join(want)})",
                      found=f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}",
                      hint=f"append one loss layer per name in {what}_layers, in that order.")
        children = list(model.children())
        ids = {id(m): i for i, m in enumerate(children)}
        loss_ids = {id(m) for m in list(c_losses) + list(s_losses)}
        for lm in list(c_losses) + list(s_losses):
            if id(lm) not in ids:
                _fail(_BUILD, "a loss layer you return is not inside the model.",
                      expected="the very modules that were inserted into the model",
                      found=f"{type(lm).__name__} not found among the model's children",
                      hint="create each loss layer once, insert it into the model and append the same object to "
                           "the list.")

        # in-place ReLUs right after a loss layer overwrite the tensor that layer keeps
        for i, mod in enumerate(children):
            if isinstance(mod, nn.ReLU) and mod.inplace and i > 0 and id(children[i - 1]) in loss_ids:
                k = sum(1 for m in children[:i] if id(m) not in loss_ids)  # normalization = 0, conv1_1 = 1, ...
                which = f"'{LAYER_NAMES[k - 1]}'" if 0 < k <= len(LAYER_NAMES) else f"child {i}"
                _fail(_BUILD, f"an in-place ReLU ({which}) runs right after a loss layer.",
                      expected="nn.ReLU(inplace=False) in the model",
                      found=f"{mod!r} after {type(children[i - 1]).__name__}",
                      hint="an in-place ReLU overwrites its input: the very tensor the loss layer before it kept "
                           "(to compute its loss and gradient, or as its target). torchvision's VGG19 uses "
                           "inplace=True; replace each ReLU with nn.ReLU(inplace=False).")

        # position of each loss layer and trimming
        def vgg_position(lm: nn.Module) -> int:
            """Number of non-loss modules before a loss module (normalization + VGG layers)."""
            return sum(1 for m in children[:ids[id(lm)]] if id(m) not in loss_ids)

        for lm, lname, what in [(m, n, "content") for m, n in zip(c_losses, content_layers)] + \
                               [(m, n, "style") for m, n in zip(s_losses, style_layers)]:
            pos = vgg_position(lm)
            want = LAYER_NAMES.index(lname) + 2
            if pos != want:
                after = "nothing" if pos == 0 else ("the normalization" if pos == 1 else
                                                    f"'{LAYER_NAMES[pos - 2]}'" if pos - 2 < len(LAYER_NAMES)
                                                    else "past the last VGG layer")
                _fail(_BUILD, f"the {what} loss layer for '{lname}' is in the wrong place.",
                      expected=f"right after '{lname}' (after the normalization and {want - 1} VGG layers)",
                      found=f"after {after}",
                      hint="walk through vgg.named_children() after putting the normalization first, append each "
                           "layer, then its loss layer when the layer's name is in the list." if pos != want - 1 or
                      pos == 0 else "insert the loss layer after its VGG layer, not before it.")
        last_loss = max(ids[id(m)] for m in list(c_losses) + list(s_losses))
        extra = children[last_loss + 1:]
        if extra:
            first = sum(1 for m in children[:last_loss] if id(m) not in loss_ids)  # VGG layers start at 1
            names = [LAYER_NAMES[first - 1 + k] if first - 1 + k < len(LAYER_NAMES) else type(m).__name__
                     for k, m in enumerate(extra)]
            listed = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            _fail(_BUILD, "the model is not trimmed after its last loss layer.",
                  expected=f"the model to end with the loss layer after '{last}'",
                  found=f"{len(extra)} more module(s) after it: {listed}",
                  hint="stop adding layers (break) once the deepest loss layer is in: the layers after it cost "
                       "time and cannot change any loss.")

        # the normalization comes first
        if not (isinstance(children[0], nn.Module) and id(children[0]) not in loss_ids):
            _fail(_BUILD, "the model must start with the normalization.")
        with torch.no_grad():
            first = _call(_BUILD, "the first module of your model", children[0], C)
            if not isinstance(first, torch.Tensor) or not _close(first, norm(C)):
                _fail(_BUILD, "the first module of the model is not the normalization.",
                      expected="model[0] == normalization (RGB in [0, 1] -> what VGG19 expects)",
                      found=type(children[0]).__name__,
                      hint="start the module list with the normalization you were given; VGG19 was trained on "
                           "normalised images.")

        # loss values: 0 at G = C (content) and G = S (style), equal to the package's for a random G
        ref_model, ref_c, ref_s = build_model(C, S, content_layers=content_layers, style_layers=style_layers,
                                              vgg=tiny_vgg(inplace=False))
        Gr = _small_image(16, 16, seed=23)
        ref_model(Gr)
        scale_c = [_num(m.loss) for m in ref_c]
        scale_s = [_num(m.loss) for m in ref_s]
        with torch.no_grad():
            _call(_BUILD, "a forward pass of your model with G = C", model, C.clone())
        for lm, lname, sc in zip(c_losses, content_layers, scale_c):
            v = _num(_get_loss(_BUILD, lm, type(lm).__name__))
            if abs(v) > 1e-5 * sc:
                _fail(_BUILD, f"the content loss at '{lname}' is not 0 when G = C.",
                      expected="0 (G is the content image itself)", found=f"{v:.6g}",
                      hint="its target must be C's features at exactly that layer: computed from C (not S), "
                           "through the normalization and the layers up to and including that one, and kept as "
                           "a copy that no in-place operation can overwrite.")
        with torch.no_grad():
            _call(_BUILD, "a forward pass of your model with G = S", model, S.clone())
        for lm, lname, sc in zip(s_losses, style_layers, scale_s):
            v = _num(_get_loss(_BUILD, lm, type(lm).__name__))
            if abs(v) > 1e-5 * sc:
                _fail(_BUILD, f"the style loss at '{lname}' is not 0 when G = S.",
                      expected="0 (G is the style image itself)", found=f"{v:.6g}",
                      hint="its target must come from S's features (not C's) at exactly that layer, computed "
                           "through the normalization.")
        G = Gr.clone().requires_grad_(True)
        _call(_BUILD, "a forward pass of your model", model, G)
        for lm, ref, lname in list(zip(c_losses, ref_c, content_layers)) + list(zip(s_losses, ref_s, style_layers)):
            v = _get_loss(_BUILD, lm, type(lm).__name__)
            if not _close(v.reshape(()), ref.loss.reshape(())):
                _fail(_BUILD, f"the loss at '{lname}' differs from the reference for a random G.",
                      expected=f"{_num(ref.loss):.6g}", found=f"{_num(v):.6g}",
                      hint="check that each loss layer receives the output of its own layer and that its target "
                           "was computed the same way.")
        total = sum((m.loss for m in list(c_losses) + list(s_losses)), torch.zeros(()))
        try:
            total.backward()
        except RuntimeError as exc:
            hint = ("an in-place operation (an nn.ReLU(inplace=True)) overwrote a tensor that a loss layer needs "
                    "for its gradient; use nn.ReLU(inplace=False).") if "inplace" in str(exc) else None
            _fail(_BUILD, f"backward through your model failed: {exc}", hint=hint, cause=exc)
        Gref = Gr.clone().requires_grad_(True)
        ref_model(Gref)
        sum((m.loss for m in ref_c + ref_s), torch.zeros(())).backward()
        if G.grad is None or not _close(G.grad, Gref.grad, 1e-3):
            _fail(_BUILD, "the gradient of the losses with respect to G is wrong.",
                  expected=_fmt_tensor(Gref.grad), found="None" if G.grad is None else _fmt_tensor(G.grad),
                  hint="nothing in the model may detach the features on their way from G to the loss layers.")

        # a style image of another size than the content image (the usual case)
        S2 = _small_image(20, 24, seed=24)
        result2 = _call(_BUILD, "your build_model with a 20 x 24 style image and a 16 x 16 content image", fn,
                        tiny_vgg(inplace=True), norm, C, S2, list(content_layers), list(style_layers),
                        hint="C and S may differ in size. Compute S's features by passing S through the layers "
                             "on its own, not through a model that already holds content loss layers (they "
                             "compare with C's features, which have another size).")
        ref2 = build_model(C, S2, content_layers=content_layers, style_layers=style_layers,
                           vgg=tiny_vgg(inplace=False))
        _call(_BUILD, "a forward pass of your model", result2[0], Gr)
        ref2[0](Gr)
        for lm, ref, lname in zip(result2[2], ref2[2], style_layers):
            v = _get_loss(_BUILD, lm, type(lm).__name__)
            if not _close(v.reshape(()), ref.loss.reshape(())):
                _fail(_BUILD, f"with a style image of another size, the style loss at '{lname}' is wrong.",
                      expected=f"{_num(ref.loss):.6g}", found=f"{_num(v):.6g}",
                      hint="the style targets must be S's own features at each layer, whatever S's size.")
    _passed(_BUILD, "normalization first, loss layers in place, trimmed, no harmful in-place ReLU, correct "
                    "targets (also for a style image of another size), losses and gradients",
            "The model is ready to be optimised.")


# --------------------------------------------------------------------------------------------- the closure

_CLOSURE = "check_closure"


def _closure_setup(seed: int = 31):
    C = _small_image(16, 16, seed=seed)
    S = _small_image(16, 16, seed=seed + 1)
    model, c_losses, s_losses = build_model(C, S, content_layers=["relu2_2"],
                                            style_layers=["relu1_1", "relu2_1", "relu3_1"],
                                            vgg=tiny_vgg(inplace=False, seed=seed))
    G = (C + 0.2 * (_small_image(16, 16, seed=seed + 2) - 0.5)).clamp(0, 1).requires_grad_(True)
    return model, G, c_losses, s_losses


def _objective(model, image, c_losses, s_losses, alpha, beta):
    """L = alpha * mean(content losses) + beta * mean(style losses), and its parts."""
    model(image)
    c = sum(m.loss for m in c_losses) / len(c_losses)
    s = sum(m.loss for m in s_losses) / len(s_losses)
    return alpha * c + beta * s, c, s, sum(m.loss for m in s_losses)


def _as_float(check: str, value: Any) -> float:
    if value is None:
        _fail(check, "the closure returned None.", expected="the loss (a 0-d tensor)", found="None",
              hint="end the closure with `return loss`: L-BFGS calls it several times per step and needs the "
                   "value to decide how far to go.")
    if not isinstance(value, torch.Tensor):
        _fail(check, "the closure must return the loss tensor.", expected="a 0-d tensor",
              found=f"{type(value).__name__} {value!r:.40}",
              hint="return the tensor itself (`return loss`), not loss.item() or float(loss): the code that "
                   "calls the closure reads the value with .item().")
    if value.numel() != 1:
        _fail(check, "the closure must return a single number.", expected="a 0-d tensor",
              found=f"a tensor of shape {tuple(value.shape)}",
              hint="add up the layers' losses into one number: the mean of the content losses times alpha plus "
                   "the mean of the style losses times beta.")
    return value.detach().item()


def check_closure(fn: Callable) -> None:
    """Check a student's ``make_closure(model, G, optimizer, content_losses, style_losses, alpha, beta)``.

    The closure it returns must zero the gradients, run ``model(G)``, compute
    ``L = alpha * mean(content losses) + beta * mean(style losses)``, call
    ``L.backward()`` and return ``L``, without changing G.
    """
    _require_callable(_CLOSURE, fn, "a function make_closure(model, G, optimizer, content_losses, style_losses, "
                                    "alpha, beta)")
    alpha, beta = 1.0, 3.0
    with _small_work():
        model, G, c_losses, s_losses = _closure_setup()
        opt = torch.optim.LBFGS([G])
        ref_G = G.detach().clone().requires_grad_(True)
        ref_L, ref_c, ref_s, ref_s_sum = _objective(model, ref_G, c_losses, s_losses, alpha, beta)
        ref_L.backward()
        closure = _call(_CLOSURE, "your make_closure", fn, model, G, opt, list(c_losses), list(s_losses),
                        alpha, beta)
        if not callable(closure):
            _fail(_CLOSURE, "make_closure must return the closure function itself.",
                  expected="a function (def closure(): ...; return closure)", found=type(closure).__name__,
                  hint="return the inner function without calling it: `return closure`, not `return closure()`.")
        G_before = G.detach().clone()
        value = _as_float(_CLOSURE, _call(_CLOSURE, "your closure()", closure))

        if not torch.equal(G.detach(), G_before):
            _fail(_CLOSURE, "the closure changed the pixels of G.", expected="G unchanged by a call of the closure",
                  found="different pixels after the call",
                  hint="only optimizer.step may change G. Clamping G into [0, 1] inside the closure (G.data.clamp_) "
                       "confuses L-BFGS, which evaluates the closure several times per step; clamp between steps.")
        L, c, s = _num(ref_L), _num(ref_c), _num(ref_s)
        if abs(value / L - 1) > 1e-4:
            named = [
                (beta * c + alpha * s, "alpha and beta are swapped: alpha weighs the content loss, beta the "
                                       "style loss."),
                (alpha * c + beta * _num(ref_s_sum), "you summed the style losses; this homework (and the "
                                                      "package) weighs each of the L style layers by 1/L, i.e. "
                                                      "takes their mean."),
                (c + s, "alpha and beta are not applied: L = alpha * content + beta * style."),
                (alpha * c, "the style term is missing."),
                (beta * s, "the content term is missing."),
                (c + _num(ref_s_sum), "alpha and beta are not applied, and the style losses are summed."),
            ]
            for v, hint in named:
                if abs(value / v - 1) < 1e-4:
                    _fail(_CLOSURE, "the closure returned the wrong loss.", expected=f"{L:.6g}",
                          found=f"{value:.6g}", hint=hint)
            _fail(_CLOSURE, "the closure returned the wrong loss.", expected=f"{L:.6g}", found=f"{value:.6g}",
                  hint="L = alpha * (mean of the content layers' .loss) + beta * (mean of the style layers' .loss), "
                       "computed after model(G).")
        if G.grad is None:
            _fail(_CLOSURE, "after the closure ran, G has no gradient.", expected="G.grad filled by loss.backward()",
                  found="G.grad is None",
                  hint="call loss.backward() inside the closure, and zero the gradients before it, not after.")
        if _num(G.grad.abs().sum()) == 0:
            _fail(_CLOSURE, "after the closure ran, G's gradient is all zeros.",
                  expected=f"the gradient of L, e.g. {_fmt_tensor(ref_G.grad)}", found="zeros",
                  hint="zero_grad() runs after loss.backward() and wipes the gradient; zero first, then backward.")
        if not _close(G.grad, ref_G.grad, 1e-3):
            _fail(_CLOSURE, "G's gradient is not the gradient of the loss.", expected=_fmt_tensor(ref_G.grad),
                  found=_fmt_tensor(G.grad), hint="call backward() on the same loss you return.")

        # a second call without a step in between must give the same gradient
        value2 = _as_float(_CLOSURE, _call(
            _CLOSURE, "your closure() (second call)", closure,
            hint="if the error says 'backward through the graph a second time': model(G) must run inside the "
                 "closure, so that each call builds a fresh graph."))
        k = _scale_factor(G.grad, ref_G.grad)
        if not _close(G.grad, ref_G.grad, 1e-3):
            if _matches(k, 2):
                hint = ("gradients accumulate: after two calls G.grad is exactly twice the gradient. Start the "
                        "closure with optimizer.zero_grad() (model.zero_grad() does not reach G, which is not a "
                        "parameter of the model).")
            else:
                hint = "zero the gradients at the start of every call: optimizer.zero_grad()."
            _fail(_CLOSURE, "the gradient changed between two calls of the closure at the same G.",
                  expected=_fmt_tensor(ref_G.grad), found=_fmt_tensor(G.grad), hint=hint)
        if abs(value2 / L - 1) > 1e-4:
            _fail(_CLOSURE, "two calls at the same G returned different losses.", expected=f"{L:.6g} twice",
                  found=f"{value:.6g}, then {value2:.6g}")

        # the closure must follow G: a new G gives a new loss
        with torch.no_grad():
            G.add_(0.05 * (_small_image(16, 16, seed=99) - 0.5))
        new_ref, *_ = _objective(model, G.detach(), c_losses, s_losses, alpha, beta)
        value3 = _as_float(_CLOSURE, _call(_CLOSURE, "your closure() after G changed", closure))
        if abs(value3 / _num(new_ref) - 1) > 1e-4:
            hint = ("the closure returns the old value: run model(G) inside the closure, so that every call "
                    "measures the current G.") if abs(value3 / L - 1) < 1e-6 else None
            _fail(_CLOSURE, "after G changed, the closure returned the wrong loss.", expected=f"{_num(new_ref):.6g}",
                  found=f"{value3:.6g}", hint=hint)

        # and it drives an optimiser
        model2, G2, c2, s2 = _closure_setup(seed=41)
        opt2 = torch.optim.LBFGS([G2], lr=1.0, max_iter=5, line_search_fn="strong_wolfe")
        start, *_ = _objective(model2, G2.detach(), c2, s2, alpha, beta)
        closure2 = _call(_CLOSURE, "your make_closure", fn, model2, G2, opt2, list(c2), list(s2), alpha, beta)
        _call(_CLOSURE, "optimizer.step(closure)", opt2.step, closure2)
        end, *_ = _objective(model2, G2.detach(), c2, s2, alpha, beta)
        if not _num(end) < 0.9 * _num(start):
            _fail(_CLOSURE, "five L-BFGS iterations with your closure did not lower the loss.",
                  expected=f"less than {0.9 * _num(start):.6g}", found=f"{_num(end):.6g} (start {_num(start):.6g})")
    _passed(_CLOSURE, "the right loss, fresh gradients at every call, G untouched, L-BFGS makes progress",
            "Your pieces now make a complete style transfer.")


# --------------------------------------------------------------------------------------------- texture

_TEXTURE = "check_texture"

#: The layers whose Gram matrices judge a texture. relu5_1 is left out: at 64 px its maps are 4 x 4 or
#: smaller, so its Gram matrix differs even between two shifted copies of the same image.
TEXTURE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: A texture passes if its style score (1 = as far from S as uniform noise, 0 = S's own statistics)
#: is below this value.
TEXTURE_MAX_SCORE = 0.35


@functools.lru_cache(maxsize=1)
def _texture_vgg() -> nn.Sequential:
    return load_vgg19("caffe", last_layer=TEXTURE_LAYERS[-1])


def _gram_distances(image: torch.Tensor, style: torch.Tensor, layers: Sequence[str]) -> dict[str, float]:
    vgg, norm = _texture_vgg(), Normalization("caffe")
    fi = extract_features(vgg, norm, image.detach().float().cpu(), layers)
    fs = extract_features(vgg, norm, style.detach().float().cpu(), layers)
    out = {}
    for n in layers:
        gi, gs = _ref.gram_matrix(fi[n]), _ref.gram_matrix(fs[n])
        out[n] = float(F.mse_loss(gi, gs) / gs.pow(2).mean().clamp_min(1e-30))
    return out


def texture_score(image: torch.Tensor, style: torch.Tensor,
                  layers: Sequence[str] = TEXTURE_LAYERS) -> tuple[float, dict[str, float]]:
    """How far the style statistics of ``image`` are from those of ``style``, relative to noise.

    For each layer, the mean squared difference of the two (VGG19, caffe
    weights) Gram matrices, divided by the same quantity for uniform noise of
    ``image``'s size (fixed seed). Returns ``(score, per_layer)``: ``score``
    is the mean over the layers; 0 means S's own statistics, 1 as far from S
    as noise. A texture synthesised by a few dozen L-BFGS steps scores about
    0.05-0.3, an unrelated photo 1.5 or more.
    """
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(0))
    d_img = _gram_distances(image, style, layers)
    d_noise = _gram_distances(noise, style, layers)
    per_layer = {n: d_img[n] / max(d_noise[n], 1e-30) for n in layers}
    return sum(per_layer.values()) / len(per_layer), per_layer


def _copy_of(T: torch.Tensor, S: torch.Tensor) -> str | None:
    """'a copy', 'a shifted copy' or 'a mirrored copy' of S if T is one (same shape), else None."""
    if T.shape != S.shape:
        return None
    if float((T - S).abs().mean()) < 0.03:
        return "a copy"
    t = T - T.mean(dim=(-2, -1), keepdim=True)
    for flips, what in (((), "a shifted copy"), ((-1,), "a mirrored copy"), ((-2,), "a mirrored copy"),
                        ((-2, -1), "a rotated copy")):
        s = S.flip(flips) if flips else S
        s = s - s.mean(dim=(-2, -1), keepdim=True)
        # circular cross-correlation of every shift at once, via the FFT
        corr = torch.fft.irfft2(torch.fft.rfft2(t) * torch.fft.rfft2(s).conj(), s=t.shape[-2:]).sum(1)
        norm = (t.pow(2).sum() * s.pow(2).sum()).sqrt().clamp_min(1e-12)
        if float(corr.max() / norm) > 0.9:
            return what
    return None


def check_texture(texture: torch.Tensor | Callable[[torch.Tensor], torch.Tensor], style: torch.Tensor) -> None:
    """Check a synthesised texture of ``style`` by its properties (there is no single right answer).

    ``texture`` is the image (``1 x 3 x H x W`` in [0, 1], H and W >= 32), or a
    function ``texture(style) -> image`` that the check calls. It passes if the
    image is a valid picture, not flat, not a (shifted or mirrored) copy of the
    style image, and its VGG19 Gram matrices are close to the style image's:
    its :func:`texture_score` must be below :data:`TEXTURE_MAX_SCORE`.
    """
    if callable(texture) and not isinstance(texture, torch.Tensor):
        texture = _call(_TEXTURE, "your texture function", texture, style)
    T = texture
    if not isinstance(T, torch.Tensor):
        _fail(_TEXTURE, "the texture must be an image tensor.", expected="a 1 x 3 x H x W tensor in [0, 1]",
              found=type(T).__name__, hint="return G (the optimised image), e.g. G.detach()."
              if T is not None else "the function has no `return` statement.")
    if T.ndim != 4 or tuple(T.shape[:2]) != (1, 3):
        _fail(_TEXTURE, "the texture has the wrong shape.", expected="(1, 3, H, W)", found=str(tuple(T.shape)))
    if min(T.shape[-2:]) < 32:
        _fail(_TEXTURE, "the texture is too small to judge.", expected="H and W of at least 32 pixels",
              found=f"{tuple(T.shape[-2:])}")
    T = T.detach().float().cpu()
    if not torch.isfinite(T).all():
        _fail(_TEXTURE, "the texture contains NaN or infinite pixels.", expected="finite values in [0, 1]",
              found="NaN/inf", hint="the optimisation diverged: lower the learning rate, or clamp G between steps.")
    lo, hi = float(T.min()), float(T.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        _fail(_TEXTURE, "the pixels are outside [0, 1].", expected="0 <= G <= 1",
              found=f"min {lo:.3g}, max {hi:.3g}",
              hint="clamp G into [0, 1] between optimiser steps (with torch.no_grad(): G.clamp_(0, 1)) and at "
                   "the end.")
    if float(T.std()) < 0.02:
        _fail(_TEXTURE, "the texture is (almost) flat.", expected="a pattern with contrast",
              found=f"pixel standard deviation {float(T.std()):.3g}",
              hint="did the optimisation run? Start from noise and let the style loss shape it.")
    S = style.detach().float().cpu()
    copy = _copy_of(T, S)
    if copy:
        _fail(_TEXTURE, f"the texture is {copy} of the style image.",
              expected="a new image with the statistics of S", found=f"{copy} of S",
              hint="start G from noise, not from S: texture synthesis draws a new sample of the same 'stuff'.")
    score, per_layer = texture_score(T, S)
    if score > TEXTURE_MAX_SCORE:
        layers = ", ".join(f"{n} {v:.2f}" for n, v in per_layer.items())
        _fail(_TEXTURE, "the Gram matrices of the texture are far from those of the style image.",
              expected=f"a style score below {TEXTURE_MAX_SCORE:g} (0 = S's statistics, 1 = uniform noise's)",
              found=f"{score:.3g} (per layer: {layers})",
              hint="optimise longer, or check the loss: only style losses (no content layers, alpha = 0), "
                   "computed on G, and G is the tensor the optimiser changes.")
    _passed(_TEXTURE, f"a valid image, not a copy of S, style score {score:.3f} (noise: 1, limit "
                      f"{TEXTURE_MAX_SCORE:g})", "A new texture from nothing but Gram matrices!")
