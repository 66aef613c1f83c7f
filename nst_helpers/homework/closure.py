"""Exercise: the L-BFGS closure, ``make_closure(model, G, optimizer, content_losses, style_losses, alpha, beta)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..model import build_model
from ._harness import (
    _call,
    _close,
    _fail,
    _fmt_tensor,
    _matches,
    _num,
    _passed,
    _require_callable,
    _scale_factor,
    _small_image,
    _small_work,
)
from .model import tiny_vgg

_CLOSURE = "check_closure"
_ALPHA, _BETA = 1.0, 3.0


def _closure_setup(seed: int = 31):
    C = _small_image(16, 16, seed=seed)
    S = _small_image(16, 16, seed=seed + 1)
    model, c_losses, s_losses = build_model(C, S, ["relu2_2"], ["relu1_1", "relu2_1", "relu3_1"],
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


def _evaluate(closure: Callable, what: str = "your closure()", hint: str | None = None) -> float:
    return _as_float(_CLOSURE, _call(_CLOSURE, what, closure, hint=hint))


# --------------------------------------------------------------------------------------------- the sub-checks


def _check_returns_closure(closure: Any) -> None:
    if not callable(closure):
        _fail(_CLOSURE, "make_closure must return the closure function itself.",
              expected="a function (def closure(): ...; return closure)", found=type(closure).__name__,
              hint="return the inner function without calling it: `return closure`, not `return closure()`.")


def _check_G_untouched(G: torch.Tensor, G_before: torch.Tensor) -> None:
    if not torch.equal(G.detach(), G_before):
        _fail(_CLOSURE, "the closure changed the pixels of G.", expected="G unchanged by a call of the closure",
              found="different pixels after the call",
              hint="only optimizer.step may change G. Clamping G into [0, 1] inside the closure (G.data.clamp_) "
                   "confuses L-BFGS, which evaluates the closure several times per step; clamp between steps.")


def _check_loss_value(value: float, ref: tuple) -> None:
    """The closure's loss is L; the usual wrong combinations of the content and style terms are named."""
    ref_L, ref_c, ref_s, ref_s_sum = ref
    L, c, s, s_sum = _num(ref_L), _num(ref_c), _num(ref_s), _num(ref_s_sum)
    if not abs(value / L - 1) > 1e-4:
        return
    alpha, beta = _ALPHA, _BETA
    named = [
        (beta * c + alpha * s, "alpha and beta are swapped: alpha weighs the content loss, beta the "
                               "style loss."),
        (alpha * c + beta * s_sum, "you summed the style losses; this homework (and the "
                                   "package) weighs each of the L style layers by 1/L, i.e. "
                                   "takes their mean."),
        (c + s, "alpha and beta are not applied: L = alpha * content + beta * style."),
        (alpha * c, "the style term is missing."),
        (beta * s, "the content term is missing."),
        (c + s_sum, "alpha and beta are not applied, and the style losses are summed."),
    ]
    for v, hint in named:
        if abs(value / v - 1) < 1e-4:
            _fail(_CLOSURE, "the closure returned the wrong loss.", expected=f"{L:.6g}",
                  found=f"{value:.6g}", hint=hint)
    _fail(_CLOSURE, "the closure returned the wrong loss.", expected=f"{L:.6g}", found=f"{value:.6g}",
          hint="L = alpha * (mean of the content layers' .loss) + beta * (mean of the style layers' .loss), "
               "computed after model(G).")


def _check_gradient(G: torch.Tensor, ref_grad: torch.Tensor) -> None:
    if G.grad is None:
        _fail(_CLOSURE, "after the closure ran, G has no gradient.", expected="G.grad filled by loss.backward()",
              found="G.grad is None",
              hint="call loss.backward() inside the closure, and zero the gradients before it, not after.")
    if _num(G.grad.abs().sum()) == 0:
        _fail(_CLOSURE, "after the closure ran, G's gradient is all zeros.",
              expected=f"the gradient of L, e.g. {_fmt_tensor(ref_grad)}", found="zeros",
              hint="zero_grad() runs after loss.backward() and wipes the gradient; zero first, then backward.")
    if not _close(G.grad, ref_grad, 1e-3):
        _fail(_CLOSURE, "G's gradient is not the gradient of the loss.", expected=_fmt_tensor(ref_grad),
              found=_fmt_tensor(G.grad), hint="call backward() on the same loss you return.")


def _check_second_call(closure: Callable, G: torch.Tensor, ref_grad: torch.Tensor, L: float, value: float) -> None:
    """A second call without a step in between must give the same gradient and the same loss."""
    value2 = _evaluate(closure, "your closure() (second call)",
                       hint="if the error says 'backward through the graph a second time': model(G) must run "
                            "inside the closure, so that each call builds a fresh graph.")
    k = _scale_factor(G.grad, ref_grad)
    if not _close(G.grad, ref_grad, 1e-3):
        if _matches(k, 2):
            hint = ("gradients accumulate: after two calls G.grad is exactly twice the gradient. Start the "
                    "closure with optimizer.zero_grad() (model.zero_grad() does not reach G, which is not a "
                    "parameter of the model).")
        else:
            hint = "zero the gradients at the start of every call: optimizer.zero_grad()."
        _fail(_CLOSURE, "the gradient changed between two calls of the closure at the same G.",
              expected=_fmt_tensor(ref_grad), found=_fmt_tensor(G.grad), hint=hint)
    if abs(value2 / L - 1) > 1e-4:
        _fail(_CLOSURE, "two calls at the same G returned different losses.", expected=f"{L:.6g} twice",
              found=f"{value:.6g}, then {value2:.6g}")


def _check_follows_G(closure: Callable, model, G: torch.Tensor, c_losses, s_losses, L: float) -> None:
    """The closure must follow G: a new G gives a new loss."""
    with torch.no_grad():
        G.add_(0.05 * (_small_image(16, 16, seed=99) - 0.5))
    new_ref, *_ = _objective(model, G.detach(), c_losses, s_losses, _ALPHA, _BETA)
    value3 = _evaluate(closure, "your closure() after G changed")
    if abs(value3 / _num(new_ref) - 1) > 1e-4:
        hint = ("the closure returns the old value: run model(G) inside the closure, so that every call "
                "measures the current G.") if abs(value3 / L - 1) < 1e-6 else None
        _fail(_CLOSURE, "after G changed, the closure returned the wrong loss.", expected=f"{_num(new_ref):.6g}",
              found=f"{value3:.6g}", hint=hint)


def _check_drives_lbfgs(fn: Callable) -> None:
    """Five L-BFGS iterations with the closure lower the loss (a fresh setup)."""
    model, G, c_losses, s_losses = _closure_setup(seed=41)
    opt = torch.optim.LBFGS([G], lr=1.0, max_iter=5, line_search_fn="strong_wolfe")
    start, *_ = _objective(model, G.detach(), c_losses, s_losses, _ALPHA, _BETA)
    closure = _call(_CLOSURE, "your make_closure", fn, model, G, opt, list(c_losses), list(s_losses), _ALPHA, _BETA)
    _call(_CLOSURE, "optimizer.step(closure)", opt.step, closure)
    end, *_ = _objective(model, G.detach(), c_losses, s_losses, _ALPHA, _BETA)
    if not _num(end) < 0.9 * _num(start):
        _fail(_CLOSURE, "five L-BFGS iterations with your closure did not lower the loss.",
              expected=f"less than {0.9 * _num(start):.6g}", found=f"{_num(end):.6g} (start {_num(start):.6g})")


# --------------------------------------------------------------------------------------------- the check


def check_closure(fn: Callable) -> None:
    """Check a student's ``make_closure(model, G, optimizer, content_losses, style_losses, alpha, beta)``.

    The closure it returns must zero the gradients, run ``model(G)``, compute
    ``L = alpha * mean(content losses) + beta * mean(style losses)``, call
    ``L.backward()`` and return ``L``, without changing G.
    """
    _require_callable(_CLOSURE, fn, "a function make_closure(model, G, optimizer, content_losses, style_losses, "
                                    "alpha, beta)")
    with _small_work():
        model, G, c_losses, s_losses = _closure_setup()
        opt = torch.optim.LBFGS([G])
        ref_G = G.detach().clone().requires_grad_(True)
        ref = _objective(model, ref_G, c_losses, s_losses, _ALPHA, _BETA)
        ref[0].backward()
        closure = _call(_CLOSURE, "your make_closure", fn, model, G, opt, list(c_losses), list(s_losses),
                        _ALPHA, _BETA)
        _check_returns_closure(closure)
        G_before = G.detach().clone()
        value = _evaluate(closure)
        _check_G_untouched(G, G_before)
        _check_loss_value(value, ref)
        _check_gradient(G, ref_G.grad)
        L = _num(ref[0])
        _check_second_call(closure, G, ref_G.grad, L, value)
        _check_follows_G(closure, model, G, c_losses, s_losses, L)
        _check_drives_lbfgs(fn)
    _passed(_CLOSURE, "the right loss, fresh gradients at every call, G untouched, L-BFGS makes progress",
            "Your pieces now make a complete style transfer.")
