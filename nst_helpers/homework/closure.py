"""Exercise: the L-BFGS closure, ``make_closure(model, G, optimizer, content_losses, style_losses, alpha, beta)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..model import build_model
from ._harness import (
    CheckFailed,
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


class _WatchedLBFGS(torch.optim.LBFGS):
    """L-BFGS that notices a step taken from inside the closure (which must only evaluate the loss)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluating = 0  # > 0 while the closure runs

    def step(self, closure=None):
        if self.evaluating:
            _fail(_CLOSURE, "the closure calls optimizer.step().",
                  expected="a closure that only evaluates: zero_grad, model(G), the loss, backward, return loss",
                  found="optimizer.step(...) inside the closure",
                  hint="the optimiser calls the closure, not the other way round: L-BFGS evaluates it several "
                       "times per step to measure the loss and its gradient. Take optimizer.step(closure) out of "
                       "the closure, into the loop that runs the optimisation.")
        if closure is None:
            return super().step(closure)

        def watched():
            self.evaluating += 1
            try:
                return closure()
            finally:
                self.evaluating -= 1

        return super().step(watched)


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


def _evaluate(closure: Callable, opt: torch.optim.Optimizer | None = None, what: str = "your closure()",
              hint: str | None = None, losses: tuple = ()) -> float:
    """Call the closure (``opt.evaluating`` on, so that a step inside it is caught); the loss as a float."""
    if isinstance(opt, _WatchedLBFGS):
        opt.evaluating += 1
    try:
        value = _call(_CLOSURE, what, closure, hint=hint)
    except CheckFailed as err:
        if losses and "does not require grad" in str(err.__cause__):
            _no_graph(err.__cause__, losses)
        raise
    finally:
        if isinstance(opt, _WatchedLBFGS):
            opt.evaluating -= 1
    return _as_float(_CLOSURE, value)


def _no_graph(exc: BaseException, losses: tuple) -> None:
    """backward() on a loss without a graph: say whether the forward pass or the sum of the terms lost it."""
    if not any(isinstance(getattr(m, "loss", None), torch.Tensor) and m.loss.requires_grad for m in losses):
        _fail(_CLOSURE, "loss.backward() failed: the loss is not connected to G.",
              expected="loss layers whose .loss has a gradient path back to G", found=f"{type(exc).__name__}: {exc}",
              hint="model(G) ran under torch.no_grad() (or on G.detach()): no loss layer recorded how its loss "
                   "depends on G. Run the forward pass in the closure without torch.no_grad(); only the "
                   "clamping between steps needs it.", cause=exc)
    _fail(_CLOSURE, "loss.backward() failed: the loss you built is not connected to G.",
          expected="the loss layers' .loss tensors combined with + and * (or torch.stack(...).mean())",
          found=f"{type(exc).__name__}: {exc}",
          hint="the layers' losses have their gradient path, the loss you call backward() on has not: its terms "
               "were turned into plain numbers (.item(), float(), torch.tensor([...]), .detach()), which copies "
               "the values and drops the graph. Add the tensors themselves: sum(m.loss for m in style_losses) / "
               "len(style_losses), or torch.stack([m.loss for m in style_losses]).mean().", cause=exc)


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


def _term_gradients(model, G0: torch.Tensor, c_losses, s_losses) -> list[tuple[str, torch.Tensor]]:
    """(name, gradient at G0 of that layer's term of L) for each loss layer: L's gradient is their sum."""
    out = []
    for kind, layers, weight in (("content", c_losses, _ALPHA / len(c_losses)),
                                 ("style", s_losses, _BETA / len(s_losses))):
        for i, layer in enumerate(layers):
            Gi = G0.detach().clone().requires_grad_(True)
            model(Gi)
            (weight * layer.loss).backward()
            out.append((f"{kind}_losses[{i}]", Gi.grad.reshape(-1).double()))
    return out


def _missing_terms(grad: torch.Tensor, terms: list[tuple[str, torch.Tensor]]) -> list[str] | None:
    """The terms whose gradient is missing from ``grad`` (each term in it fully or not at all), else None."""
    A = torch.stack([g for _, g in terms], 1)
    coef = torch.linalg.lstsq(A, grad.reshape(-1, 1).double()).solution.reshape(-1)
    resid = float((A @ coef - grad.reshape(-1).double()).norm() / grad.double().norm().clamp_min(1e-30))
    if resid > 1e-3 or not all(min(abs(c), abs(c - 1)) < 1e-3 for c in coef.tolist()):
        return None
    missing = [name for (name, _), c in zip(terms, coef.tolist()) if abs(c) < 1e-3]
    return missing or None


def _check_gradient(G: torch.Tensor, ref_grad: torch.Tensor, terms: list[tuple[str, torch.Tensor]]) -> None:
    if G.grad is None:
        _fail(_CLOSURE, "after the closure ran, G has no gradient.", expected="G.grad filled by loss.backward()",
              found="G.grad is None",
              hint="call loss.backward() inside the closure, and zero the gradients before it, not after.")
    if _num(G.grad.abs().sum()) == 0:
        _fail(_CLOSURE, "after the closure ran, G's gradient is all zeros.",
              expected=f"the gradient of L, e.g. {_fmt_tensor(ref_grad)}", found="zeros",
              hint="zero_grad() runs after loss.backward() and wipes the gradient; zero first, then backward.")
    if not _close(G.grad, ref_grad, 1e-3):
        missing = _missing_terms(G.grad, terms)
        if missing:
            _fail(_CLOSURE, "G's gradient lacks part of the loss.", expected=_fmt_tensor(ref_grad),
                  found=f"{_fmt_tensor(G.grad)}: exactly the gradient of L without the term(s) of "
                        f"{', '.join(missing)}",
                  hint="the value you return is right, but those terms reach it as plain numbers: .item(), "
                       "float(), torch.tensor([...]) or .detach() copy the value and drop the gradient path to G. "
                       "Combine the loss tensors themselves: sum(m.loss for m in style_losses) / len(style_losses), "
                       "or torch.stack([m.loss for m in style_losses]).mean().")
        if _scale_factor(G.grad, ref_grad) is not None:
            hint = "the gradient is a multiple of the right one: call backward() on the same loss you return."
        else:
            hint = None
        _fail(_CLOSURE, "G's gradient is not the gradient of the loss.", expected=_fmt_tensor(ref_grad),
              found=_fmt_tensor(G.grad), hint=hint or "the gradient must be that of the loss you return: "
                                                      "zero_grad, model(G), loss, loss.backward(), return loss.")


def _check_second_call(closure: Callable, opt, G: torch.Tensor, ref_grad: torch.Tensor, L: float, value: float) -> None:
    """A second call without a step in between must give the same gradient and the same loss."""
    value2 = _evaluate(closure, opt, "your closure() (second call)",
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


def _check_follows_G(closure: Callable, opt, model, G: torch.Tensor, c_losses, s_losses, L: float) -> None:
    """The closure must follow G: a new G gives a new loss."""
    with torch.no_grad():
        G.add_(0.05 * (_small_image(16, 16, seed=99) - 0.5))
    new_ref, *_ = _objective(model, G.detach(), c_losses, s_losses, _ALPHA, _BETA)
    value3 = _evaluate(closure, opt, "your closure() after G changed")
    if abs(value3 / _num(new_ref) - 1) > 1e-4:
        hint = ("the closure returns the old value: run model(G) inside the closure, so that every call "
                "measures the current G.") if abs(value3 / L - 1) < 1e-6 else None
        _fail(_CLOSURE, "after G changed, the closure returned the wrong loss.", expected=f"{_num(new_ref):.6g}",
              found=f"{value3:.6g}", hint=hint)


def _check_drives_lbfgs(fn: Callable) -> None:
    """Five L-BFGS iterations with the closure lower the loss (a fresh setup)."""
    model, G, c_losses, s_losses = _closure_setup(seed=41)
    opt = _WatchedLBFGS([G], lr=1.0, max_iter=5, line_search_fn="strong_wolfe")
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
        opt = _WatchedLBFGS([G])
        ref_G = G.detach().clone().requires_grad_(True)
        ref = _objective(model, ref_G, c_losses, s_losses, _ALPHA, _BETA)
        ref[0].backward()
        closure = _call(_CLOSURE, "your make_closure", fn, model, G, opt, list(c_losses), list(s_losses),
                        _ALPHA, _BETA)
        _check_returns_closure(closure)
        G_before = G.detach().clone()
        value = _evaluate(closure, opt, losses=tuple(c_losses) + tuple(s_losses))
        _check_G_untouched(G, G_before)
        _check_loss_value(value, ref)
        _check_gradient(G, ref_G.grad, _term_gradients(model, ref_G, c_losses, s_losses))
        L = _num(ref[0])
        _check_second_call(closure, opt, G, ref_G.grad, L, value)
        _check_follows_G(closure, opt, model, G, c_losses, s_losses, L)
        _check_drives_lbfgs(fn)
    _passed(_CLOSURE, "the right loss, fresh gradients at every call, G untouched, L-BFGS makes progress",
            "Your pieces now make a complete style transfer.")
