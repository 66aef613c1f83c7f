"""The machine a run uses: device, arithmetic, memory layout, out-of-memory errors, progress bars.

Nothing here changes *what* style transfer computes; it decides *where and how* (float32 or
bfloat16, NCHW or channels-last). The algorithm in :mod:`nst_helpers.transfer` asks a
:class:`Runtime` for these and stays free of them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from .errors import ParameterError, ResourceError

__all__ = ["PRECISIONS", "Runtime", "bf16_is_fast", "check_device", "out_of_memory_as_resource_error",
           "progress_bar", "resolve_device", "resolve_precision"]

#: Arithmetic of the forward pass: ``"float32"`` (the textbook computation), ``"bfloat16"`` (autocast: the
#: convolutions and Gram products in bfloat16, the optimiser in float32), or ``"auto"`` (see :func:`resolve_precision`).
PRECISIONS = ("float32", "bfloat16", "auto")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def check_device(device: str | torch.device | None) -> str | torch.device:
    """``device`` unchanged if :func:`resolve_device` can resolve it here, else a ParameterError."""
    resolve_device(device)
    return "cpu" if device is None else device


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"auto"`` (CUDA, else MPS, else CPU)."""
    if device is None:
        return torch.device("cpu")
    name = device.type if isinstance(device, torch.device) else str(device).lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"Unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for, but PyTorch sees no CUDA GPU here. Use 'cpu' or 'auto'.")
    if kind == "mps" and not _mps_available():
        raise ParameterError("device='mps' was asked for, but Apple's MPS is not available here. Use 'cpu' or 'auto'.")
    return device if isinstance(device, torch.device) else torch.device(name)


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


@dataclass(frozen=True)
class Runtime:
    """Where and how the network runs: ``device``, bfloat16 autocast or not, channels-last or not."""

    device: torch.device
    bfloat16: bool = False
    channels_last: bool = False

    @classmethod
    def for_settings(cls, device: str | torch.device, precision: str) -> Runtime:
        """The runtime of ``device`` and ``precision`` (see :data:`PRECISIONS`).

        The fast path (precision ``"auto"`` or ``"bfloat16"``) also uses the channels-last (NHWC)
        memory layout: the CPU and CUDA convolutions run faster on it (x1.05-1.10 per evaluation on a
        2-core AVX-512 CPU, benchmarks/bench_options.py). Its rounding differs from the plain layout,
        and L-BFGS amplifies such differences, so ``"float32"`` keeps the textbook computation that
        the lectures reproduce exactly.
        """
        dev = resolve_device(device)
        bf16 = resolve_precision(precision, dev) == "bfloat16"
        return cls(dev, bf16, precision != "float32" and dev.type in ("cpu", "cuda"))

    @property
    def precision(self) -> str:
        return "bfloat16" if self.bfloat16 else "float32"

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model in this runtime's memory layout."""
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def network_input(self, G: torch.Tensor) -> torch.Tensor:
        """G as the network takes it (G itself stays contiguous: L-BFGS flattens it)."""
        return G.contiguous(memory_format=torch.channels_last) if self.channels_last else G

    def autocast(self):
        """The context of one forward pass: bfloat16 autocast, or nothing."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bfloat16)


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA/MPS out-of-memory errors and the CPU allocator's failure."""
    text = str(exc).lower()
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text \
        or "can't allocate memory" in text


@contextlib.contextmanager
def out_of_memory_as_resource_error(device: torch.device, image: torch.Tensor):
    """Turn an out-of-memory failure inside the block into a :class:`ResourceError` that says what to do."""
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        h, w = image.shape[-2:]
        raise ResourceError(f"Out of memory on {device} for a {w} x {h} image. Use a smaller size (for example "
                            f"size={max(64, max(h, w) // 2)}), fewer or shallower style layers, or the CPU.") from exc


def progress_bar(total: int, enabled: bool, desc: str = "style transfer"):
    """A tqdm bar counting objective evaluations (a no-op when ``enabled`` is False)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="eval", leave=True)
