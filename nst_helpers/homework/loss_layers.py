"""Exercises: the loss layers ``ContentLoss(target)`` and ``StyleLoss(target_features)``.

Both are checked the same way (known values with the classic factors named, returns its input, loss of A with
A is 0, recomputed not accumulated, gradients reach the input but not the target); what differs (the reference
loss, the fingerprints of the mistakes, the style loss's extra checks) is data in a :class:`_LossExercise`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import nn

from .. import losses as _ref
from ._harness import (
    _call,
    _close,
    _fail,
    _fmt_tensor,
    _get_loss,
    _matches,
    _num,
    _passed,
    _require_callable,
    _seeded,
    _shape,
    _shuffle_positions,
    _small_work,
)

#: A named mistake: (problem, what was found or None for the loss value, likely mistake).
_Mistake = tuple[str, str | None, str]
_WRONG_VALUE = "the loss value is wrong."


@dataclass(frozen=True)
class _LossExercise:
    """What the two loss-layer checks do not share."""

    check: str
    name: str
    #: Test features all positive (like the output of a ReLU, where Gram matrices are taken) or not.
    positive: bool
    #: The right loss of features x with target t.
    reference: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    #: The mistake behind a wrong loss value (loss, x, t, expected), if it has a known fingerprint.
    mistake: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], _Mistake | None]
    #: The likely mistake of a wrong value without a known fingerprint.
    value_hint: str


# --------------------------------------------------------------------------------------------- fingerprints


def _factor_mistake(loss: torch.Tensor, expected: torch.Tensor, candidates: list[tuple[float, str]]) -> _Mistake | None:
    """A loss that is exactly one of the ``(factor, hint)`` candidates times the expected one."""
    k = _num(loss) / _num(expected)
    for value, hint in candidates:
        if _matches(k, value):
            return ("the loss value is off by a constant factor.", f"{_num(loss):.6g} (= {k:.6g} x expected)", hint)
    return None


def _near(value: torch.Tensor, other: torch.Tensor) -> bool:
    return abs(_num(value) / _num(other) - 1) < 1e-3


def _content_mistake(loss: torch.Tensor, x: torch.Tensor, t: torch.Tensor, expected: torch.Tensor) -> _Mistake | None:
    m = x[0].numel()  # N*H*W
    if _near(loss, (x - t).abs().mean()):
        return _WRONG_VALUE, None, "you averaged |input - target| (no square): square the differences."
    if abs(_num(loss) / math.sqrt(_num(expected)) - 1) < 1e-3:
        return _WRONG_VALUE, None, "you took the square root (a root-mean-square error); the loss is the mean " \
                                   "squared error."
    return _factor_mistake(loss, expected, [
        (m, f"a sum instead of a mean: your loss is exactly N*H*W = {m} times too large. Use "
            "the mean of the squared differences (.mean() or nnf.mse_loss)."),
        (m / 2, f"the paper's 1/2 * sum: your loss is exactly N*H*W/2 = {m / 2:g} times ours. This "
                "package uses the mean squared error (see nst_helpers.losses)."),
        (0.5, "your loss is exactly half the expected one: drop the factor 1/2 and use the plain mean."),
    ])


def _style_mistake(loss: torch.Tensor, x: torch.Tensor, t: torch.Tensor, expected: torch.Tensor) -> _Mistake | None:
    n = x.shape[1]
    m = x[0].numel()  # N*H*W
    if _near(loss, nnf.mse_loss(x, t)):
        return _WRONG_VALUE, None, "you compared the feature maps themselves; the style loss compares their " \
                                   "Gram matrices."
    gram_x, gram_t = _ref.gram_matrix(x), _ref.gram_matrix(t)
    if any(_near(loss, v) for v in (nnf.mse_loss(gram_x, gram_t * m), nnf.mse_loss(gram_x * m, gram_t))):
        return _WRONG_VALUE, None, "only one of the two Gram matrices (input or target) is divided by N*H*W; " \
                                   "use the same gram_matrix for both."
    return _factor_mistake(loss, expected, [
        (m ** 2, f"your Gram matrices are not normalised: the loss is exactly (N*H*W)^2 = {m ** 2} "
                 f"times too large. Divide F F^T by N*H*W = {m}."),
        (n * n, f"a sum over the N x N entries instead of a mean: the loss is exactly N^2 = {n * n} "
                "times too large. Use the mean (nnf.mse_loss)."),
        (n * n / 4, f"the paper's 1/4 * sum: your loss is exactly N^2/4 = {n * n / 4:g} times ours. "
                    "This package uses the mean squared error of normalised Gram matrices."),
        ((m ** 2) * n * n, "Gram matrices not normalised, and a sum instead of a mean."),
        (0.5, "your loss is exactly half the expected one: drop the factor 1/2 and use the plain mean."),
    ])


_CONTENT = _LossExercise(
    check="check_content_loss", name="ContentLoss", positive=False,
    reference=nnf.mse_loss,
    mistake=_content_mistake,
    value_hint="self.loss = mean((input - target)**2) over all entries, e.g. nnf.mse_loss(input, self.target).",
)
_STYLE = _LossExercise(
    check="check_style_loss", name="StyleLoss", positive=True,
    reference=lambda x, t: nnf.mse_loss(_ref.gram_matrix(x), _ref.gram_matrix(t)),
    mistake=_style_mistake,
    value_hint="self.loss = mean((gram(input) - gram(target))**2): compare the Gram matrix of the input "
               "with the Gram matrix of the target, computed once in __init__.",
)


# --------------------------------------------------------------------------------------------- shared steps


def _forward_loss(ex: _LossExercise, layer: nn.Module, x: torch.Tensor, what: str, hint: str | None = None):
    """Run ``layer(x)`` and return its ``self.loss``."""
    _call(ex.check, what, layer, x, hint=hint)
    return _get_loss(ex.check, layer, ex.name)


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


def _check_no_trainable_target(ex: _LossExercise, layer: nn.Module) -> None:
    """The target is a constant: not an nn.Parameter that requires grad, nor a tensor with requires_grad."""
    trainable = [name for name, p in layer.named_parameters() if p.requires_grad]
    if trainable:
        _fail(ex.check, f"{ex.name} has a trainable parameter: {', '.join(trainable)}.",
              expected="a constant target (a plain tensor, or a buffer), no trainable parameters",
              found=f"nn.Parameter {trainable[0]!r} with requires_grad=True",
              hint="nn.Parameter(target) makes the target something an optimiser can change and gives it a "
                   "gradient of its own. Store a constant: self.target = target.detach().")
    for name, value in vars(layer).items():
        if name != "loss" and isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf:
            _fail(ex.check, f"{ex.name}.{name} requires grad.",
                  expected="a constant target with requires_grad=False",
                  found=f"self.{name}.requires_grad == True",
                  hint="a target that requires grad collects a gradient in every backward(); store "
                       "self.target = target.detach() (without .requires_grad_()).")


def _check_input_unchanged(ex: _LossExercise, x: torch.Tensor, x_before: torch.Tensor, t: torch.Tensor,
                           t_before: torch.Tensor) -> None:
    """A loss layer only watches: forward must not change its input, __init__ must not change the target."""
    if not torch.equal(x.detach(), x_before):
        _fail(ex.check, f"{ex.name}.forward changed its input in place.",
              expected="the input features unchanged after the call", found="different values in the input",
              hint="an in-place operation on the input, such as input.sub_(...), input -= ..., input.pow_(2) or "
                   "input.div_(...): inside nn.Sequential the next VGG layer would receive the changed "
                   "tensor. Write input - self.target (a new tensor) instead.")
    if not torch.equal(t.detach(), t_before):
        _fail(ex.check, f"{ex.name}(target) changed the target it was given in place.",
              expected="the target tensor unchanged", found="different values in the tensor passed to __init__",
              hint="an in-place operation on the target (target.div_(...), target -= ...); make a new tensor "
                   "instead (target / ..., or target.detach().clone() before changing it).")


def _first_layer(ex: _LossExercise, cls: type, x: torch.Tensor, t: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """``cls(t)`` is an nn.Module whose forward returns its input and stores a 0-d ``self.loss``."""
    x_before, t_before = x.clone(), t.clone()
    layer = _call(ex.check, f"{ex.name}(target) with a target of shape {tuple(t.shape)}", cls, t)
    if not isinstance(layer, nn.Module):
        _fail(ex.check, f"{ex.name}(target) must create an nn.Module.", found=type(layer).__name__,
              hint=f"declare `class {ex.name}(nn.Module):` and call super().__init__() first in __init__.")
    _check_no_trainable_target(ex, layer)
    out = _call(ex.check, f"{ex.name}.forward on features of shape {tuple(x.shape)}", layer, x)
    _check_input_unchanged(ex, x, x_before, t, t_before)
    _check_forward_output(ex.check, out, x, ex.name)
    return layer, _get_loss(ex.check, layer, ex.name)


def _check_value(ex: _LossExercise, loss: torch.Tensor, x: torch.Tensor, t: torch.Tensor,
                 expected: torch.Tensor) -> None:
    """The known answer, with the classic factors and other fingerprints named."""
    if _close(loss.reshape(()), expected):
        return
    problem, found, hint = ex.mistake(loss, x, t, expected) or (_WRONG_VALUE, None, ex.value_hint)
    _fail(ex.check, problem, expected=f"{_num(expected):.6g}", found=found or f"{_num(loss):.6g}", hint=hint)


def _check_zero_with_itself(ex: _LossExercise, cls: type, x: torch.Tensor, expected: torch.Tensor) -> None:
    same = _call(ex.check, f"{ex.name}(A)", cls, x.clone())
    self_loss = _forward_loss(ex, same, x.clone(), f"{ex.name}.forward")
    if abs(_num(self_loss)) > 1e-6 * _num(expected):
        _fail(ex.check, "the loss of A with itself is not 0.", expected="0", found=f"{_num(self_loss):.6g}",
              hint="the loss must compare input with target and nothing else.")


def _check_not_accumulated(ex: _LossExercise, layer: nn.Module, x: torch.Tensor, expected: torch.Tensor) -> None:
    again = _forward_loss(ex, layer, x, f"a second {ex.name}.forward")
    if not _close(again.reshape(()), expected):
        k = _num(again) / _num(expected)
        _fail(ex.check, "the loss changed when forward ran twice on the same input.",
              expected=f"{_num(expected):.6g} both times", found=f"{_num(again):.6g} the second time",
              hint="self.loss accumulates (self.loss += ...); assign it: self.loss = ..." if _matches(k, 2)
              else "forward must compute self.loss from the input alone, the same way each call.")


def _check_gradient(ex: _LossExercise, cls: type, x: torch.Tensor, t: torch.Tensor) -> None:
    """Gradients reach the input, never the target."""
    check = ex.check
    src = t.clone().requires_grad_(True)
    live_target = src * 1.0  # still attached to src's graph, as a target computed by a network would be
    layer = _call(check, f"{ex.name}(target) with a target that requires grad", cls, live_target)
    xg = x.clone().requires_grad_(True)
    loss = _forward_loss(ex, layer, xg, f"{ex.name}.forward")
    if not loss.requires_grad:
        _fail(check, "self.loss is cut off from autograd: no gradient can reach G.",
              expected="self.loss.requires_grad == True for an input that requires grad",
              found="requires_grad == False",
              hint="a .detach(), .data, .item() or torch.no_grad() on the input side; only the target is "
                   "detached.")
    try:
        loss.backward()
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
    ex.reference(xg_ref, t).backward()
    if not _close(xg.grad, xg_ref.grad, 1e-3):
        _fail(check, "the gradient with respect to the input is wrong.", expected=_fmt_tensor(xg_ref.grad),
              found=_fmt_tensor(xg.grad))


def _check_loss_layer(ex: _LossExercise, cls: type) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The checks both loss layers share; returns the test features x, the target t and the expected loss."""
    _require_callable(ex.check, cls, f"the class {ex.name} (not an instance)")
    t = _seeded((1, 3, 4, 5), seed=11, positive=ex.positive)
    x = _seeded((1, 3, 4, 5), seed=12, positive=ex.positive)
    layer, loss = _first_layer(ex, cls, x, t)
    expected = ex.reference(x, t)
    _check_value(ex, loss, x, t, expected)
    _check_zero_with_itself(ex, cls, x, expected)
    _check_not_accumulated(ex, layer, x, expected)
    _check_gradient(ex, cls, x, t)
    return x, t, expected


# --------------------------------------------------------------------------------------------- style only


def _check_style_of_other_size(cls: type, x: torch.Tensor) -> None:
    """Gram matrices do not depend on the image size: G and S may have different sizes."""
    ex = _STYLE
    t_big = _seeded((1, 3, 6, 5), seed=13, positive=True)
    layer = _call(ex.check, f"{ex.name}(target) with a target of shape {tuple(t_big.shape)}", cls, t_big)
    loss = _forward_loss(ex, layer, x, f"{ex.name}.forward on features of shape {tuple(x.shape)} "
                                       f"(target {tuple(t_big.shape)})",
                         hint="the style target must not need the input's size: compare Gram matrices "
                              "(N x N), not feature maps. The target's Gram matrix is computed once in __init__.")
    expected = ex.reference(x, t_big)
    if not _close(loss.reshape(()), expected):
        _fail(ex.check, "wrong loss when the style features are larger than the input's.",
              expected=f"{_num(expected):.6g}", found=f"{_num(loss):.6g}",
              hint="compute the target Gram matrix from the target features in __init__ and compare "
                   "it with gram(input) in forward.")


def _check_style_blind_to_positions(cls: type, x: torch.Tensor, t: torch.Tensor, expected: torch.Tensor) -> None:
    ex = _STYLE
    layer = _call(ex.check, f"{ex.name}(target)", cls, t)
    loss = _forward_loss(ex, layer, _shuffle_positions(x), f"{ex.name}.forward on shuffled features")
    if not _close(loss.reshape(()), expected):
        _fail(ex.check, "shuffling the positions of the input changed the style loss.",
              expected=f"{_num(expected):.6g}", found=f"{_num(loss):.6g}",
              hint="the style loss must only see Gram matrices, which ignore where features occur.")


# --------------------------------------------------------------------------------------------- the checks


def check_content_loss(cls: type) -> None:
    """Check a student's ``ContentLoss(target)`` layer: MSE of the features, returns its input, stores ``self.loss``."""
    with _small_work():
        _check_loss_layer(_CONTENT, cls)
    _passed(_CONTENT.check, "known values, loss(A, A) = 0, returns its input, detached target, gradients",
            "Nice: the content half of the objective is done.")


def check_style_loss(cls: type) -> None:
    """Check a student's ``StyleLoss(target_features)`` layer: MSE of the (normalised) Gram matrices."""
    with _small_work():
        x, t, expected = _check_loss_layer(_STYLE, cls)
        _check_style_of_other_size(cls, x)
        _check_style_blind_to_positions(cls, x, t, expected)
    _passed(_STYLE.check, "known values, loss(A, A) = 0, any image size, blind to positions, detached "
                          "target, gradients", "Great: both loss layers work.")
