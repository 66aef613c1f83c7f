"""TransferConfig: one settings object, checked once; the CLI, the cache key and History come from it."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from nst_helpers import TransferConfig, build_model, load_vgg19, optimize, run_style_transfer
from nst_helpers.cli import CLI_DEFAULTS, build_parser
from nst_helpers.config import DEFAULT_BETA, check_field, default_weights
from nst_helpers.errors import LayerNameError, ParameterError
from nst_helpers.images import resize_to
from nst_helpers.transfer import _style_size, layer_weights

PAPER = dict(progress=False, size=None, style_layer_weights="equal", tv_weight=0.0, scales=None)


@pytest.mark.parametrize("changes, pattern", [
    (dict(alpha=-1), "alpha must be a finite number >= 0"),
    (dict(beta=math.nan), "beta must be a finite number"),
    (dict(steps=0), "steps must be a whole number >= 1"),
    (dict(steps=2.5), "steps must be a whole number"),
    (dict(init="zeros"), "Unknown init 'zeros'"),
    (dict(optimizer="sgd"), "Unknown optimizer 'sgd'"),
    (dict(style_layers=["relu1_1", "relu1_1"]), "name a layer twice"),
    (dict(style_layer_weights=[1.0, 2.0]), "one weight per layer"),
    (dict(scales=[256, 128]), "increasing long sides"),
    (dict(scales=[64, 128, 256], steps=2), "cannot be split over 3 scales"),
    (dict(alpha=0, beta=0), "nothing to optimise"),
    (dict(content_layers=[]), "no content layers"),
    (dict(every=0), "every must be a whole number >= 1"),
    (dict(clamp_every=0), "clamp_every must be a whole number >= 1"),
    (dict(seed=1.5), "seed must be None or a whole number"),
    (dict(precision="float16"), "Unknown precision"),
])
def test_bad_values_are_refused_when_the_config_is_made(changes, pattern):
    with pytest.raises(ParameterError, match=pattern):
        TransferConfig(**changes)
    with pytest.raises(ParameterError, match=pattern):  # replace() checks again
        TransferConfig().replace(**changes)


def test_layer_names_are_checked_with_the_vgg_hint():
    with pytest.raises(LayerNameError, match="conv4_2"):
        TransferConfig(content_layers=["conv_4"])


def test_the_config_is_frozen_canonical_and_hashable():
    c = TransferConfig(beta=1e5, content_layers=["relu4_2"], scales=[64, 128])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.beta = 1.0
    assert c.content_layers == ("relu4_2",) and c.scales == (64, 128) and isinstance(c.beta, float)
    assert c.replace(steps=50).steps == 50 and c.steps != 50
    with pytest.raises(ParameterError, match="Unknown setting"):
        c.replace(gamma=1)
    # the cache key: equal computations, equal keys; every and progress never change G, so they are not in it
    assert c.key() == c.replace(every=1, progress=False).key()
    assert c.key() != c.replace(seed=1).key()
    init = torch.rand(1, 3, 8, 8)
    assert c.replace(init=init).key() == c.replace(init=init.clone()).key() != c.replace(init=init + 0.1).key()
    hash(c.key())


def test_check_field_checks_one_value_on_its_own():
    assert check_field("steps", 3) == 3 and check_field("content_layers", ["relu4_2"]) == ("relu4_2",)
    with pytest.raises(ParameterError, match="steps must be"):
        check_field("steps", -1)
    with pytest.raises(ParameterError, match="Unknown setting 'colour'"):
        check_field("colour", 1)


def test_resolved_defaults_follow_the_weights_preprocessing():
    assert TransferConfig().resolved().beta == DEFAULT_BETA
    assert TransferConfig(style_layer_weights="equal").resolved().tv_weight == 0.0
    # a state-dict file in torchvision's format: its normalization sets beta, not the caffe default
    c = TransferConfig(weights="my_vgg19.pth", normalization="torchvision").resolved()
    assert c.normalization == "torchvision" and (c.alpha, c.beta) == default_weights("torchvision")
    assert c.beta != DEFAULT_BETA
    assert TransferConfig(weights="my_vgg19.pth").resolved().normalization == "caffe"


def test_every_option_of_the_command_line_is_a_config_field():
    parser = build_parser()
    options = {a.dest for a in parser._actions if a.option_strings} - {"help", "output", "force", "quiet"}
    fields = {f.name: f for f in dataclasses.fields(TransferConfig)}
    assert options <= set(fields), options - set(fields)
    assert options == {name for name, f in fields.items() if f.metadata["cli"]}
    for action in parser._actions:
        if action.dest in fields and action.dest not in CLI_DEFAULTS:  # the help text is the field's
            assert fields[action.dest].metadata["help"].split(" (")[0] in action.help


def test_g_does_not_depend_on_the_snapshot_interval(content64, style64):
    for optimizer in ("lbfgs", "adam"):
        runs = {every: run_style_transfer(content64, style64, steps=14, every=every, optimizer=optimizer, **PAPER)
                for every in (1, 4, 14)}
        G1, h1 = runs[1]
        for every, (G, h) in runs.items():
            assert torch.equal(G, G1), f"{optimizer}: every={every} changed G"
            assert h.total == h1.total
            assert [k for k, _ in h.snapshots] == sorted({0, *range(every, 15, every), 14})


def test_clamp_interval_is_a_setting_of_its_own(content64, style64):
    G5, h5 = run_style_transfer(content64, style64, steps=14, clamp_every=5, **PAPER)
    G10, h10 = run_style_transfer(content64, style64, steps=14, clamp_every=10, **PAPER)
    assert h5.total[:5] == h10.total[:5]  # the same first call
    assert not torch.equal(G5, G10)  # clamping elsewhere is another optimisation


def test_optimize_is_the_loop_of_run_style_transfer(content64, style64):
    config = TransferConfig(steps=12, **PAPER).resolved()
    vgg = load_vgg19(last_layer="relu5_1")
    # run_style_transfer gives S as many pixels as C (keeping S's aspect ratio) before building the model
    S = resize_to(style64, _style_size(tuple(content64.shape[-2:]), tuple(style64.shape[-2:]), 1.0))
    model, content_losses, style_losses = build_model(content64, S, config.content_layers, config.style_layers,
                                                      vgg=vgg, normalization="caffe")
    weights = layer_weights(config, model, content64, style_losses, content64)
    G, history = optimize(content64.clone(), model, content_losses, style_losses, weights, config)
    G_pkg, h_pkg = run_style_transfer(content64, style64, config)
    assert history.total == h_pkg.total and torch.equal(G, G_pkg)
