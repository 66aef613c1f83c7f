"""Exercise: the Gram matrix, ``B x N x H x W`` -> ``B x N x N``, divided by ``N*H*W``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import losses as _ref
from ._harness import (
    _call,
    _close,
    _fail,
    _fmt_tensor,
    _matches,
    _passed,
    _relerr,
    _require_callable,
    _scale_factor,
    _seeded,
    _shape,
    _shuffle_positions,
    _small_work,
)

_GRAM = "check_gram_matrix"
_WHAT = "your gram_matrix"
_USE_THE_INPUT_SIZES = "use the sizes of the input (B, N, H, W = features.shape), never fixed numbers."


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


# --------------------------------------------------------------------------------------------- the sub-checks


def _check_returns_tensor(out: Any) -> None:
    if not isinstance(out, torch.Tensor):
        hint = ("use torch operations (reshape, @ or torch.bmm) and return their tensor; converting to "
                "NumPy also cuts the result off from autograd.") if out is not None else \
            "the function has no `return` statement (or returns nothing)."
        _fail(_GRAM, "gram_matrix must return a torch.Tensor.", expected="a tensor of shape (1, 3, 3)",
              found=f"{type(out).__name__}", hint=hint)


def _check_input_unchanged(x: torch.Tensor, x_before: torch.Tensor) -> None:
    if not torch.equal(x, x_before):
        _fail(_GRAM, "your gram_matrix changed its input in place.",
              expected="the features unchanged after the call", found="different values in features",
              hint="an in-place operation such as features.div_(...) or features /= ...; write "
                   "features / ... to make a new tensor instead.")


def _shape_hint(found: tuple[int, ...], x: torch.Tensor) -> str:
    """Name the mistake behind a Gram matrix of the wrong shape."""
    b, n, h, w = x.shape
    if found == (b, h * w, h * w) or found == (h * w, h * w):
        return ("the transposed product: with F of shape N x (H*W), F^T F is an (H*W) x (H*W) matrix "
                "comparing positions. The Gram matrix compares maps: F F^T, N x N.")
    if found == (n, n):
        return ("the batch dimension is gone: for features of shape B x N x H x W return B x N x N "
                "(here 1 x 3 x 3). Reshape to (B, N, H*W) and multiply with torch.bmm or @.")
    if found == (b, n, h * w) or found == (n, h * w):
        return "you returned the reshaped features; multiply them by their transpose."
    return ("reshape the features to (B, N, H*W) (one row per map) and multiply by the "
            "transpose: (B, N, H*W) @ (B, H*W, N) -> (B, N, N).")


def _check_shape(out: torch.Tensor, x: torch.Tensor) -> None:
    b, n = x.shape[:2]
    if tuple(out.shape) != (b, n, n):
        found = tuple(out.shape)
        _fail(_GRAM, "the Gram matrix has the wrong shape.",
              expected=f"(B, N, N) = {(b, n, n)} for features of shape (B, N, H, W) = {tuple(x.shape)}",
              found=str(found), hint=_shape_hint(found, x))


def _check_values(out: torch.Tensor, x: torch.Tensor) -> None:
    expected = _ref.gram_matrix(x)
    if not _close(out, expected):
        hint = _gram_value_hint(out, x)
        _fail(_GRAM, "the values of the Gram matrix are wrong.", expected=_fmt_tensor(expected),
              found=_fmt_tensor(out),
              hint=hint or "check each step on paper with a 1 x 2 x 1 x 2 tensor: reshape to (B, N, H*W), "
                           "multiply by the transpose, divide by N*H*W.")


def _check_symmetric(out: torch.Tensor) -> None:
    if _relerr(out, out.transpose(-1, -2)) > 1e-5:
        _fail(_GRAM, "the Gram matrix is not symmetric.", found=_fmt_tensor(out - out.transpose(-1, -2)),
              expected="gram == gram.transpose(-1, -2)")


def _check_blind_to_positions(fn: Callable, x: torch.Tensor, out: torch.Tensor) -> None:
    shuffled = _call(_GRAM, f"{_WHAT} on shuffled features", fn, _shuffle_positions(x))
    if not _close(shuffled, out, 1e-4):
        _fail(_GRAM, "shuffling the positions of the features changed the Gram matrix.",
              expected="the same Gram matrix (it sums over positions, so their order cannot matter)",
              found="a different one",
              hint="the reshape mixes channels and positions; reshape to (B, N, H*W).")


def _check_batch(fn: Callable) -> None:
    """A batch of two different images: one Gram matrix per image, each from its own maps."""
    xb = _seeded((2, 4, 3, 2), seed=2)
    outb = _call(_GRAM, f"{_WHAT} on a batch of shape {tuple(xb.shape)}", fn, xb)
    expb = _ref.gram_matrix(xb)
    if not isinstance(outb, torch.Tensor) or tuple(outb.shape) != (2, 4, 4):
        found = _shape(outb)
        if found in (str((8, 8)), str((1, 8, 8))):
            hint = ("you flattened the batch into the maps (a view of shape (B*N, H*W)): the Gram matrix of "
                    "image b must only compare the maps of image b. Reshape to (B, N, H*W) and use torch.bmm "
                    "(or @, which multiplies batch by batch).")
        elif found in (str((4, 4)), str((1, 4, 4))):
            mixed = xb.reshape(4, -1)
            how = ("features.view(N, -1) (or .view(N, H*W)) puts the numbers of both images into the N rows, "
                   "so the product mixes the two images") if _scale_factor(outb.reshape(4, 4), mixed @ mixed.t()) \
                is not None else "it reads only one image, or mixes them"
            hint = (f"the batch is ignored: for 2 images you returned one N x N matrix, {found}. Here {how}; "
                    "that only works for B = 1. Keep B: reshape to (B, N, H*W) and multiply batch by batch "
                    "(@ or torch.bmm), giving B x N x N.")
        else:
            hint = _USE_THE_INPUT_SIZES
        _fail(_GRAM, "wrong shape for a batch of 2 images.", expected="(2, 4, 4)", found=found, hint=hint)
    if not _close(outb, expb):
        k = _scale_factor(outb, expb)
        hint = _gram_value_hint(outb, xb) if k is not None else \
            "the Gram matrix of each image must be computed on its own maps only (torch.bmm or @)."
        _fail(_GRAM, "wrong values for a batch of 2 images (the single image was right).",
              expected=_fmt_tensor(expb), found=_fmt_tensor(outb), hint=hint)


def _check_other_size(fn: Callable) -> None:
    """Features of another shape: nothing may be hard-coded."""
    xo = _seeded((1, 6, 7, 3), seed=3)
    outo = _call(_GRAM, f"{_WHAT} on features of shape {tuple(xo.shape)}", fn, xo)
    if not _close(outo, _ref.gram_matrix(xo)):
        _fail(_GRAM, f"wrong result for features of shape {tuple(xo.shape)} (the first test was right).",
              expected=f"shape (1, 6, 6), values {_fmt_tensor(_ref.gram_matrix(xo))}",
              found=f"shape {_shape(outo)}, values "
                    f"{_fmt_tensor(outo) if isinstance(outo, torch.Tensor) else outo}",
              hint=_USE_THE_INPUT_SIZES)


def _check_gradient(fn: Callable, x: torch.Tensor) -> None:
    """Gradients must flow through it: the style loss backpropagates into G through the Gram matrix."""
    xg = x.clone().requires_grad_(True)
    outg = _call(_GRAM, _WHAT, fn, xg)
    if not outg.requires_grad:
        _fail(_GRAM, "the Gram matrix is cut off from autograd.",
              expected="a result with requires_grad=True for features with requires_grad=True",
              found="requires_grad=False",
              hint="a .detach(), .numpy(), .data or torch.no_grad() inside gram_matrix: the style loss "
                   "needs gradients through the Gram matrix to change G.")


# --------------------------------------------------------------------------------------------- the check


def check_gram_matrix(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check a student's ``gram_matrix(features)``: ``B x N x H x W`` -> ``B x N x N``, divided by ``N*H*W``.

    Raises :class:`CheckFailed` with the likely mistake, or :class:`NotImplementedYet`; prints a line on success.
    """
    _require_callable(_GRAM, fn, "a function gram_matrix(features)")
    with _small_work():
        x = _seeded((1, 3, 4, 5), seed=1)  # N = 3, H*W = 20, N*H*W = 60: every factor is distinct
        x_before = x.clone()
        out = _call(_GRAM, f"{_WHAT}(features) for features of shape {tuple(x.shape)}", fn, x)
        _check_returns_tensor(out)
        _check_input_unchanged(x, x_before)
        _check_shape(out, x)
        _check_values(out, x)
        _check_symmetric(out)
        _check_blind_to_positions(fn, x, out)
        _check_batch(fn)
        _check_other_size(fn)
        _check_gradient(fn, x)
    _passed(_GRAM, "shape N x N, known values, symmetric, blind to positions, batches, gradients",
            "Well done: this is the heart of the style loss.")
