"""The GPU path, run where a CUDA GPU is present: device="auto", precision="auto", out-of-memory, determinism.

Everywhere else these tests skip, each with the reason (no CUDA GPU here). They run on a GPU machine with
``python -m pytest tests/test_cuda.py -m cuda`` (``benchmarks/bench_gpu.py`` times the same path).
"""

from __future__ import annotations

import pytest
import torch
from conftest import smooth_image, stripes_image

from nst_helpers import run_style_transfer
from nst_helpers.errors import ResourceError
from nst_helpers.quality import score
from nst_helpers.runtime import Runtime, resolve_device, resolve_precision

HAS_CUDA = torch.cuda.is_available()
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU; PyTorch sees none on this machine "
                                           f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})"),
]

FAST = dict(steps=30, progress=False, scales=None, seed=0)


@pytest.fixture
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    return smooth_image(96, 128, seed=3), stripes_image(96, 128)


def test_auto_device_is_the_gpu(pair):
    assert resolve_device("auto").type == "cuda"
    C, S = pair
    G, history = run_style_transfer(C, S, device="auto", **FAST)
    assert G.device.type == "cuda", "device='auto' must run on the GPU where there is one"
    assert G.shape == C.shape and 0.0 <= float(G.min()) and float(G.max()) <= 1.0
    assert history.steps == FAST["steps"] and history.total[-1] < history.total[0]
    assert history.settings["device"].startswith("cuda")


def test_auto_precision_uses_bfloat16_where_the_gpu_has_it(pair):
    dev = torch.device("cuda")
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    assert resolve_precision("auto", dev) == expected
    runtime = Runtime.for_settings("cuda", "auto")
    assert runtime.precision == expected and runtime.channels_last


def test_fast_path_reaches_the_quality_of_float32(pair):
    """bfloat16 + channels-last against float32, both scored by the same float32 objective (quality.score)."""
    C, S = pair
    G32, _ = run_style_transfer(C, S, device="cuda", precision="float32", **{**FAST, "steps": 60})
    Gfast, h = run_style_transfer(C, S, device="cuda", precision="auto", **{**FAST, "steps": 60})
    s32, sfast = score(C, S, G32.cpu(), Gfast.cpu(), size=128)
    assert sfast.style_ratio < 1.0, "the fast path must move G towards the painting"
    assert sfast.style_ratio <= 1.5 * s32.style_ratio + 0.02, (s32, sfast, h.settings["precision"])
    assert sfast.content <= 1.5 * s32.content + 1e3, (s32, sfast)


def test_out_of_memory_becomes_a_resource_error_that_says_what_to_do():
    """A real CUDA out-of-memory (the process may use 2 % of the GPU) turns into the package's error."""
    C, S = smooth_image(1536, 2048, seed=1), stripes_image(1536, 2048)
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(0.02)
    try:
        with pytest.raises(ResourceError, match="Out of memory on cuda.*smaller size"):
            run_style_transfer(C, S, device="cuda", precision="float32", steps=2, progress=False, scales=None)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


def test_same_seed_same_result_within_a_tolerance(pair):
    """cuDNN may pick non-deterministic kernels: two runs agree closely, not bit for bit."""
    C, S = pair
    G1, h1 = run_style_transfer(C, S, device="cuda", precision="float32", **FAST)
    G2, h2 = run_style_transfer(C, S, device="cuda", precision="float32", **FAST)
    assert (G1 - G2).abs().max() < 0.05, float((G1 - G2).abs().max())
    assert abs(h1.total[-1] - h2.total[-1]) <= 0.02 * abs(h1.total[-1])


def test_gpu_result_matches_the_cpu_closely(pair):
    """The same run on the CPU and on the GPU in float32: the same picture up to rounding (TF32 off)."""
    C, S = pair
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    Gc, hc = run_style_transfer(C, S, device="cpu", precision="float32", **{**FAST, "steps": 10})
    Gg, hg = run_style_transfer(C, S, device="cuda", precision="float32", **{**FAST, "steps": 10})
    assert abs(hc.total[1] - hg.total[1]) <= 1e-3 * abs(hc.total[1])
    assert (Gc - Gg.cpu()).abs().mean() < 0.01
