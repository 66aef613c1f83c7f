"""The machine a run uses: device, arithmetic, memory layout, out-of-memory errors, progress bars.

Nothing here changes *what* style transfer computes; it decides *where and how* (float32 or
bfloat16, NCHW or channels-last). The algorithm in :mod:`nst_helpers.transfer` asks a
:class:`Runtime` for these and stays free of them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from dataclasses import dataclass

import torch

from .errors import ParameterError, ResourceError

__all__ = ["DEVICE_ENV", "PRECISIONS", "Runtime", "bf16_is_fast", "check_device", "default_device",
           "out_of_memory_as_resource_error", "progress_bar", "resolve_device", "resolve_precision",
           "return_freed_memory", "use_gpu_when_available"]

#: Arithmetic of the forward pass: ``"float32"`` (the textbook computation), ``"bfloat16"`` (autocast: the
#: convolutions and Gram products in bfloat16, the optimiser in float32), or ``"auto"`` (see :func:`resolve_precision`).
PRECISIONS = ("float32", "bfloat16", "auto")


#: Environment variable with the device of every run that names none (``device=None``, the default of
#: :class:`~nst_helpers.config.TransferConfig`); unset: ``"cpu"``. The Colab setup cell of the notebooks
#: sets it to ``"auto"`` through :func:`use_gpu_when_available`.
DEVICE_ENV = "NST_DEVICE"


def default_device() -> str:
    """The device of a run that names none: ``$NST_DEVICE`` if set (e.g. ``"auto"``), else ``"cpu"``.

    Read at every call, so setting the variable in a running notebook takes effect for the next run.
    Without it nothing changes: runs stay on the CPU, where the lectures' results were computed.
    """
    return os.environ.get(DEVICE_ENV, "").strip() or "cpu"


def use_gpu_when_available() -> torch.device:
    """Make runs that name no device use ``"auto"`` (a CUDA GPU, else Apple's MPS, else the CPU); return it.

    What the notebooks' setup cell calls on Google Colab, the one source of that choice. It sets
    :data:`DEVICE_ENV` for this process (and the processes it starts); precision stays ``"float32"``,
    the textbook computation. Explicit ``device=...`` arguments are not affected. A run without a
    device of its own still returns its image on the CPU (see
    :func:`~nst_helpers.transfer.run_style_transfer`), so a notebook's other CPU tensors mix with it.
    """
    os.environ[DEVICE_ENV] = "auto"
    return resolve_device("auto")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def check_device(device: str | torch.device | None) -> str | torch.device | None:
    """``device`` unchanged if :func:`resolve_device` can resolve it here, else a ParameterError.

    ``None`` (no choice: :func:`default_device` at run time) stays ``None``; the default is checked too.
    """
    resolve_device(device)
    return device


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"auto"`` (CUDA, else MPS, else CPU).

    ``None`` means :func:`default_device`.
    """
    if device is None:
        device = default_device()
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
        if dev.type == "cpu":
            return_freed_memory()
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


#: ``1`` returns freed activation buffers to the system at once (see :func:`return_freed_memory`), ``0`` never;
#: unset: only inside a JupyterHub (where ``$JUPYTERHUB_USER`` is set), where memory is shared by a class.
LEAN_MEMORY_ENV = "NST_LEAN_MEMORY"


def lean_memory_wanted() -> bool:
    """Whether :func:`return_freed_memory` should act: ``$NST_LEAN_MEMORY``, else True inside a JupyterHub."""
    value = os.environ.get(LEAN_MEMORY_ENV, "").strip()
    if value:
        return value != "0"
    return bool(os.environ.get("JUPYTERHUB_USER"))


@functools.cache
def return_freed_memory(threshold_kb: int = 128) -> bool:
    """Let the C library hand buffers of ``threshold_kb`` KB and more back to the system as soon as they are freed.

    An evaluation allocates and frees the network's activations (tens to hundreds of MB). By default,
    glibc raises its threshold for such buffers after the first few are freed and then keeps them on its
    heap, where they fragment: a process's memory grows by the size of a few evaluations and is not
    given back. With a fixed threshold, each buffer is a mapping of its own, returned when freed.
    Measured (benchmarks/bench_speed.py, 2-core AVX2 CPU): a 256 px run with 50 evaluations holds about
    90 MB less private memory at its peak, and a 512 px evaluation takes about 7 % longer (fresh pages
    each time). So it acts only where memory is what is short, :func:`lean_memory_wanted`: in a JupyterHub
    (30 kernels on one server) or with ``NST_LEAN_MEMORY=1``. Linux with glibc only, once per process;
    returns whether it is in effect.
    """
    if not (lean_memory_wanted() and sys.platform.startswith("linux")):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3  # mallopt's parameter number in glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, int(threshold_kb * 1024)))
    except (OSError, AttributeError):  # musl, another C library: leave it alone
        return False
