"""Shared fixtures: small deterministic images and the real (caffe) VGG19 weights, loaded once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from nst_helpers.vgg import load_vgg19


def load_tool(name: str):
    """Import ``tools/<name>.py`` (a script, not part of the package) as a module."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def smooth_image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A deterministic ``1 x 3 x h x w`` test picture: colour gradients plus a few blobs, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, h).view(h, 1)
    xs = torch.linspace(0, 1, w).view(1, w)
    chans = []
    for c in range(3):
        a, b, f = torch.rand(3, generator=g)
        chans.append(0.5 + 0.25 * torch.sin(6.28 * (f * 3 + 1) * (a * xs + b * ys)) + 0.2 * (xs - ys) * (c - 1))
    return torch.stack(chans).unsqueeze(0).clamp(0, 1)


def stripes_image(h: int, w: int, period: int = 6) -> torch.Tensor:
    """A high-contrast diagonal stripe texture (a strong, obvious 'style'), ``1 x 3 x h x w``."""
    ys = torch.arange(h).view(h, 1)
    xs = torch.arange(w).view(1, w)
    band = (((xs + ys) // period) % 2).float()
    return torch.stack([band, 0.2 + 0.6 * (1 - band), 1 - band]).unsqueeze(0)


@pytest.fixture(scope="session")
def vgg():
    """The full VGG19 feature stack with the default (caffe) weights."""
    return load_vgg19("caffe")


@pytest.fixture
def content64() -> torch.Tensor:
    return smooth_image(48, 64, seed=1)


@pytest.fixture
def style64() -> torch.Tensor:
    return stripes_image(64, 64)
