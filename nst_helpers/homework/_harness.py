"""The harness shared by every homework check: errors, messages, calling student code, tolerances, test tensors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as nnf
from torch import nn


class CheckFailed(AssertionError):
    """A homework check found a mistake; the message says what was expected, what was found and why."""


class NotImplementedYet(CheckFailed):
    """The exercise is still blank: the student's code raised ``NotImplementedError``."""


# --------------------------------------------------------------------------------------------- running student code


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


def _fail(check: str, problem: str, *, expected: Any = None, found: Any = None, hint: str | None = None,
          cause: BaseException | None = None):
    """Raise a CheckFailed: the problem, then what was expected, what was found and the likely mistake."""
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


#: Torch errors whose cause is known: (a piece of the error message, what it means and what to do).
_KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    ("t() expects a tensor with <= 2 dimensions",
     ".t() only transposes a 2-D matrix, and your tensor has 3 or more dimensions (B x N x H*W after the reshape). "
     "Swap the last two dimensions with .transpose(1, 2) (or .transpose(-2, -1), or .mT)."),
    ("must be a matrix",
     "torch.mm multiplies 2-D matrices only, and it got a tensor with more dimensions (features are B x N x H x W; "
     "reshaped, B x N x H*W). Reshape to (B, N, H*W) and multiply batch by batch with torch.bmm or @."),
    ("batch1 must be a 3D tensor",
     "torch.bmm multiplies batches of matrices: both operands must be 3-D (B x N x H*W and B x H*W x N). "
     "Reshape the B x N x H x W features to (B, N, H*W) first."),
    ("(4 dimensions), got shape (1, 3, 3)",
     "gram_matrix got a 3-D tensor, a Gram matrix (B x N x N), instead of B x N x H x W features. In StyleLoss, "
     "self.target already is a Gram matrix, computed once in __init__: compare gram_matrix(input) with "
     "self.target directly, without taking its Gram matrix again."),
    ("expected 4, got 3",
     "code that unpacks B, N, H, W = x.shape got a 3-D tensor, for example a Gram matrix (B x N x N). "
     "If this is gram_matrix(self.target) in StyleLoss: self.target already is a Gram matrix, computed once "
     "in __init__; compare gram_matrix(input) with self.target directly."),
    ("'NoneType' object has no attribute 'zero_'",
     "G.grad is None until the first backward(): there is nothing to zero yet. Use optimizer.zero_grad(), "
     "which handles that (or `if G.grad is not None: G.grad.zero_()`)."),
    ("does not require grad and does not have a grad_fn",
     "backward() was called on a tensor that is not connected to G: the forward pass ran under torch.no_grad(), "
     "or the loss was rebuilt from numbers (.item(), float(), torch.tensor([...]), .detach()), which cuts it "
     "off from autograd."),
    ("modified by an inplace operation",
     "an in-place operation (x += ..., x.add_(...), nn.ReLU(inplace=True)) overwrote a tensor that backward() "
     "still needs; write x = x + ... or use inplace=False."),
    ("Trying to backward through the graph a second time",
     "backward() ran twice through the same graph: the forward pass that built it must run again before each "
     "backward(), and targets must be detached."),
    ("mat1 and mat2 shapes cannot be multiplied",
     "the two matrices of a product do not fit: for F of shape N x (H*W), the Gram matrix is F @ F^T, "
     "(N x H*W) @ (H*W x N)."),
)


def _explain(exc: BaseException) -> str | None:
    """What a known torch error means, or None."""
    text = str(exc)
    for sign, meaning in _KNOWN_ERRORS:
        if sign in text:
            return meaning
    return None


def _call(check: str, what: str, fn: Callable, *args, hint: str | None = None, **kwargs):
    """Call student code; a NotImplementedError becomes NotImplementedYet, any other error a CheckFailed.

    The CheckFailed names the cause of a known torch error (a specific ``hint`` of the caller comes first) and
    keeps the original error chained (``__cause__``), so the traceback still shows the failing line.
    """
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
              hint=hint or _explain(exc) or "read the error above; the traceback shows the line of your code "
                                            "that failed.",
              cause=exc)


def _require_callable(check: str, obj: Any, what: str) -> None:
    if not callable(obj):
        _fail(check, f"expected {what}, got {type(obj).__name__} {obj!r:.60}.",
              hint="pass the function or class itself, without calling it (no parentheses).")


def _get_loss(check: str, layer: nn.Module, cls_name: str) -> torch.Tensor:
    """``layer.loss`` after a forward pass, which must be a 0-d tensor (the mistakes named otherwise)."""
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
              hint="average the squared differences over all entries: .mean() (or nnf.mse_loss, whose default "
                   "reduction is the mean); reduction='none' keeps one value per entry.")
    return loss


# --------------------------------------------------------------------------------------------- numbers and tolerances


def _num(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


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


# --------------------------------------------------------------------------------------------- seeded test inputs


def _seeded(shape: Sequence[int], seed: int, positive: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    return x.abs() + 0.1 if positive else x


def _shuffle_positions(x: torch.Tensor, seed: int = 7) -> torch.Tensor:
    b, n, h, w = x.shape
    perm = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
    return x.reshape(b, n, h * w)[:, :, perm].reshape(b, n, h, w)


def _small_image(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth seeded RGB image in [0, 1] (upsampled coarse noise), ``1 x 3 x h x w``."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 4), max(2, w // 4), generator=g)
    return nnf.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
