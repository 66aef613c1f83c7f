"""The homework: checks that recognise the classic mistakes, student notebooks that match the solutions.

* every ``check_*`` of :mod:`nst_helpers.homework` passes on correct code (the package's own, and a
  differently written correct version), says "not implemented yet" on a blank, and names the mistake in
  at least two planted wrong implementations;
* ``tools/make_homework.py`` regenerates exactly the committed student notebooks;
* each student notebook runs clean up to its first blank and stops there with NotImplementedError;
* grading without nbgrader gives full points to the solution and none to the blank.

The solution notebooks themselves run under nbval (``make test-homework``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nst_helpers
from nst_helpers import homework as hw
from nst_helpers.losses import ContentLoss as RefContentLoss
from nst_helpers.losses import StyleLoss as RefStyleLoss
from nst_helpers.losses import gram_matrix as ref_gram

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "homework" / "solutions"
NOTEBOOKS = ["hw1_gram_and_losses", "hw2_model_and_optimisation", "hw3_texture_synthesis"]


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_homework", ROOT / "tools" / "make_homework.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_homework"] = module
    spec.loader.exec_module(module)
    return module


make_homework = _load_tool()


def fails(check, candidate, *phrases, kind=hw.CheckFailed):
    """Run a check on a wrong candidate; assert it fails with a message containing every phrase."""
    with pytest.raises(kind) as info:
        check(candidate)
    message = str(info.value)
    for phrase in phrases:
        assert phrase.lower() in message.lower(), f"expected {phrase!r} in the message:\n{message}"
    assert "expected" in message or kind is hw.NotImplementedYet, message
    return message


def blank(*args, **kwargs):
    raise NotImplementedError()


class BlankLayer(nn.Module):
    def __init__(self, target):
        super().__init__()
        raise NotImplementedError()


# --------------------------------------------------------------------------------------------- gram matrix


def gram_einsum(f):
    """Correct, written differently from the package (einsum, permute + reshape)."""
    b, n, h, w = f.shape
    return torch.einsum("bnk,bmk->bnm", f.reshape(b, n, -1), f.reshape(b, n, -1)) / (n * h * w)


def gram_loop(f):
    """Correct and slow: one image at a time, positions last via permute."""
    b, n, h, w = f.shape
    out = []
    for i in range(b):
        x = f[i].permute(1, 2, 0).reshape(h * w, n)  # positions x maps: a real transpose, not a view
        out.append(x.T @ x / (n * h * w))
    return torch.stack(out)


def test_gram_check_passes_correct_implementations(capsys):
    for fn in (ref_gram, gram_einsum, gram_loop):
        hw.check_gram_matrix(fn)
        assert "check_gram_matrix passed" in capsys.readouterr().out


def test_gram_check_blank():
    fails(hw.check_gram_matrix, blank, "not implemented yet", kind=hw.NotImplementedYet)


def test_gram_check_reshape_mixing_channels_and_positions():
    def mixed(f):
        b, n, h, w = f.shape
        x = f.view(b, h * w, n)  # right shape for F^T, wrong numbers
        return x.transpose(1, 2) @ x / (n * h * w)

    fails(hw.check_gram_matrix, mixed, "mixes channels and positions", "view(B, H*W, N)")


def test_gram_check_transposed_product():
    def transposed(f):
        b, n, h, w = f.shape
        x = f.reshape(b, n, h * w)
        return x.transpose(1, 2) @ x / (n * h * w)

    fails(hw.check_gram_matrix, transposed, "wrong shape", "(H*W) x (H*W)", "F F^T")


def test_gram_check_missing_normalisation_names_the_factor():
    def unnormalised(f):
        b, n, h, w = f.shape
        x = f.reshape(b, n, h * w)
        return x @ x.transpose(1, 2)

    msg = fails(hw.check_gram_matrix, unnormalised, "missing normalisation", "N*H*W = 3*4*5 = 60")
    assert "60 times too large" in msg


def test_gram_check_other_normalisations():
    def by_positions_only(f):
        b, n, h, w = f.shape
        x = f.reshape(b, n, h * w)
        return x @ x.transpose(1, 2) / (h * w)

    fails(hw.check_gram_matrix, by_positions_only, "N = 3 times too large", "H*W only")

    def with_batch(f):  # the batch size in the normalisation: right for B = 1 only
        b, n, h, w = f.shape
        x = f.reshape(b, n, h * w)
        return x @ x.transpose(1, 2) / (b * n * h * w)

    fails(hw.check_gram_matrix, with_batch, "batch of 2", "batch size")


def test_gram_check_batch_dimension_mistakes():
    def tutorial(f):  # the batch dimension disappears
        a, b, c, d = f.size()
        x = f.view(a * b, c * d)
        return x @ x.t() / (a * b * c * d)

    fails(hw.check_gram_matrix, tutorial, "batch dimension is gone")

    def flattened(f):
        a, b, c, d = f.size()
        x = f.reshape(a * b, c * d)
        return x @ x.t() / (b * c * d)

    fails(hw.check_gram_matrix, flattened, "batch dimension is gone")


def test_gram_check_autograd_numpy_and_in_place():
    def detached(f):
        return ref_gram(f).detach()

    fails(hw.check_gram_matrix, detached, "cut off from autograd")

    def numpy(f):
        return ref_gram(f).detach().numpy()

    fails(hw.check_gram_matrix, numpy, "must return a torch.Tensor", "ndarray")

    def in_place(f):
        b, n, h, w = f.shape
        f.div_(1.0 + 1e-3)
        return ref_gram(f)

    fails(hw.check_gram_matrix, in_place, "in place")


def test_gram_check_view_that_ignores_the_batch():
    def ignores_batch(f):  # right for B = 1, mixes the images of a batch
        b, n, h, w = f.shape
        x = f.view(n, -1)
        return (x @ x.t() / (n * h * w)).unsqueeze(0)

    msg = fails(hw.check_gram_matrix, ignores_batch, "batch is ignored", "features.view(N, -1)", "(B, N, H*W)")
    assert "never fixed numbers" not in msg


def test_gram_check_raw_errors_are_explained():
    """.t() on a 3-D tensor and torch.mm on 4-D raise torch errors: the message says what the shapes must be."""
    def t_on_3d(f):
        b, n, h, w = f.shape
        x = f.view(b, n, h * w)
        return x @ x.t() / (n * h * w)

    with pytest.raises(hw.CheckFailed) as info:
        hw.check_gram_matrix(t_on_3d)
    assert ".t() only transposes a 2-D matrix" in str(info.value) and ".transpose(1, 2)" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)  # the original error stays chained
    assert "read the error above" not in str(info.value)

    def mm_on_4d(f):
        b, n, h, w = f.shape
        return torch.mm(f, f.transpose(2, 3)) / (n * h * w)

    msg = fails(hw.check_gram_matrix, mm_on_4d, "torch.mm multiplies 2-D matrices only", "torch.bmm")
    assert "read the error above" not in msg


def test_gram_check_not_callable():
    fails(hw.check_gram_matrix, ref_gram(torch.ones(1, 2, 2, 2)), "expected a function")


# --------------------------------------------------------------------------------------------- loss layers


class ContentByHand(nn.Module):
    """Correct, written differently: a hand-made mean and a cloned target."""

    def __init__(self, target):
        super().__init__()
        self.target = target.detach().clone()

    def forward(self, x):
        self.loss = ((x - self.target) ** 2).sum() / x.numel()
        return x


def _content(loss_fn, *, detach=True, returns="input"):
    class Wrong(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach() if detach else target

        def forward(self, x):
            self.loss = loss_fn(x, self.target) if not isinstance(loss_fn, str) else None
            return self.loss if returns == "loss" else x

    return Wrong


def test_content_check_passes_correct_implementations(capsys):
    for cls in (RefContentLoss, ContentByHand):
        hw.check_content_loss(cls)
        assert "check_content_loss passed" in capsys.readouterr().out


def test_content_check_blank():
    fails(hw.check_content_loss, BlankLayer, "not implemented yet", "ContentLoss", kind=hw.NotImplementedYet)

    class BlankForward(nn.Module):
        def __init__(self, target):
            super().__init__()

        def forward(self, x):
            raise NotImplementedError()

    fails(hw.check_content_loss, BlankForward, "not implemented yet", kind=hw.NotImplementedYet)


def test_content_check_returns_loss_instead_of_input():
    fails(hw.check_content_loss, _content(F.mse_loss, returns="loss"), "returned the loss instead of its input")


def test_content_check_sum_instead_of_mean():
    msg = fails(hw.check_content_loss, _content(lambda x, t: ((x - t) ** 2).sum()), "a sum instead of a mean")
    assert "N*H*W = 60" in msg
    fails(hw.check_content_loss, _content(lambda x, t: 0.5 * ((x - t) ** 2).sum()), "paper's 1/2")


def test_content_check_target_not_detached():
    fails(hw.check_content_loss, _content(F.mse_loss, detach=False), "not detached", "target.detach()")


def test_content_check_other_mistakes():
    fails(hw.check_content_loss, _content(lambda x, t: F.mse_loss(x, t).item()), "Python number", ".item()")
    fails(hw.check_content_loss, _content(lambda x, t: (x - t).abs().mean()), "square the differences")
    fails(hw.check_content_loss, _content(lambda x, t: F.mse_loss(x, t, reduction="none")), "single number")

    class Accumulates(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()
            self.loss = 0

        def forward(self, x):
            self.loss = self.loss + F.mse_loss(x, self.target)
            return x

    fails(hw.check_content_loss, Accumulates, "accumulates")

    class NoReturn(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, x):
            self.loss = F.mse_loss(x, self.target)

    fails(hw.check_content_loss, NoReturn, "returned None")


class StyleByHand(nn.Module):
    """Correct, written differently: the target features are kept and their Gram matrix computed in forward."""

    def __init__(self, target_features):
        super().__init__()
        self.features = target_features.detach().clone()

    def forward(self, x):
        self.loss = ((gram_einsum(x) - gram_einsum(self.features)) ** 2).mean()
        return x


def _style(gram, *, detach=True, returns="input", compare="gram"):
    class Wrong(nn.Module):
        def __init__(self, target_features):
            super().__init__()
            t = target_features.detach() if detach else target_features
            self.target = gram(t) if compare == "gram" else t

        def forward(self, x):
            self.loss = F.mse_loss(gram(x) if compare == "gram" else x, self.target)
            return self.loss if returns == "loss" else x

    return Wrong


def _gram_unnormalised(f):
    b, n, h, w = f.shape
    x = f.reshape(b, n, h * w)
    return x @ x.transpose(1, 2)


def test_style_check_passes_correct_implementations(capsys):
    for cls in (RefStyleLoss, StyleByHand, _style(gram_loop)):
        hw.check_style_loss(cls)
        assert "check_style_loss passed" in capsys.readouterr().out


def test_style_check_blank():
    fails(hw.check_style_loss, BlankLayer, "not implemented yet", "StyleLoss", kind=hw.NotImplementedYet)


def test_style_check_returns_loss_instead_of_input():
    fails(hw.check_style_loss, _style(ref_gram, returns="loss"), "returned the loss instead of its input")


def test_style_check_unnormalised_gram():
    msg = fails(hw.check_style_loss, _style(_gram_unnormalised), "not normalised", "(N*H*W)^2 = 3600")
    assert "Divide F F^T by N*H*W = 60" in msg


def test_style_check_features_instead_of_grams():
    fails(hw.check_style_loss, _style(ref_gram, compare="features"), "compared the feature maps")


def test_style_check_target_not_detached():
    fails(hw.check_style_loss, _style(ref_gram, detach=False), "not detached")


def test_style_check_sum_over_entries():
    class Summed(nn.Module):
        def __init__(self, target_features):
            super().__init__()
            self.target = ref_gram(target_features).detach()

        def forward(self, x):
            self.loss = ((ref_gram(x) - self.target) ** 2).sum()
            return x

    fails(hw.check_style_loss, Summed, "sum over the N x N entries", "N^2 = 9")


class ContentBuffer(nn.Module):
    """Correct: the target as a buffer (it moves with .to(device), is no parameter)."""

    def __init__(self, target):
        super().__init__()
        self.register_buffer("target", target.detach().clone())

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


def test_content_check_passes_a_buffer_target(capsys):
    hw.check_content_loss(ContentBuffer)
    assert "check_content_loss passed" in capsys.readouterr().out


def test_loss_checks_reject_a_trainable_target():
    class ParameterTarget(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = nn.Parameter(target)

        def forward(self, x):
            self.loss = F.mse_loss(x, self.target)
            return x

    fails(hw.check_content_loss, ParameterTarget, "trainable parameter", "nn.Parameter", "target.detach()")

    class ParameterGram(nn.Module):
        def __init__(self, target_features):
            super().__init__()
            self.target = nn.Parameter(ref_gram(target_features))

        def forward(self, x):
            self.loss = F.mse_loss(ref_gram(x), self.target)
            return x

    fails(hw.check_style_loss, ParameterGram, "trainable parameter", "nn.Parameter")

    class RequiresGrad(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach().clone().requires_grad_()

        def forward(self, x):
            self.loss = F.mse_loss(x, self.target)
            return x

    fails(hw.check_content_loss, RequiresGrad, "requires grad", "target.detach()")


def test_loss_checks_name_an_input_changed_in_place():
    """The expected value comes from an untouched copy: the message names the in-place change, not the value."""
    class SubtractsInPlace(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            input -= self.target
            self.loss = (input ** 2).mean()
            return input

    msg = fails(hw.check_content_loss, SubtractsInPlace, "changed its input in place", "input -= ...")
    assert "loss value is wrong" not in msg

    class DividesInPlace(nn.Module):
        def __init__(self, target_features):
            super().__init__()
            self.target = ref_gram(target_features).detach()

        def forward(self, input):
            self.loss = F.mse_loss(ref_gram(input.div_(2.0)), self.target)
            return input

    fails(hw.check_style_loss, DividesInPlace, "changed its input in place")


def test_style_check_gram_of_the_stored_gram():
    """gram_matrix(self.target) when self.target already is a Gram matrix: a raw error, explained."""
    def student_gram(f):
        b, n, h, w = f.shape
        x = f.reshape(b, n, h * w)
        return x @ x.transpose(1, 2) / (n * h * w)

    def gram_of_gram(gram):
        class GramOfGram(nn.Module):
            def __init__(self, target_features):
                super().__init__()
                self.target = gram(target_features).detach()

            def forward(self, x):
                self.loss = F.mse_loss(gram(x), gram(self.target))
                return x

        return GramOfGram

    for gram in (student_gram, ref_gram):
        msg = fails(hw.check_style_loss, gram_of_gram(gram), "self.target already is a Gram matrix",
                    "compare gram_matrix(input) with self.target")
        assert "read the error above" not in msg


# --------------------------------------------------------------------------------------------- build_model


def build_tutorial(content, style, content_layers, style_layers, *, vgg, normalization, fix_relu=True,
                   trim=True, style_from=None, loss_before=False):
    """The PyTorch-tutorial way (targets from the partial model), with switches for planted mistakes."""
    model = nn.Sequential(normalization)
    cl, sl = [], []
    for name, layer in vgg.named_children():
        if isinstance(layer, nn.ReLU) and fix_relu:
            layer = nn.ReLU(inplace=False)
        if not loss_before:
            model.append(layer)
        if name in content_layers:
            target = model(content).detach()
            cl.append(RefContentLoss(target))
            model.append(cl[-1])
        if name in style_layers:
            target = model(style if style_from is None else style_from(content, style)).detach()
            sl.append(RefStyleLoss(target))
            model.append(sl[-1])
        if loss_before:
            model.append(layer)
        if trim and len(cl) == len(content_layers) and len(sl) == len(style_layers):
            break
    return model, cl, sl


def build_named(content, style, content_layers, style_layers, *, vgg, normalization):
    """Correct, written differently: named modules, ReLUs switched off in place, package feature extraction."""
    from nst_helpers.model import extract_features

    model = nn.Sequential()
    model.add_module("norm", normalization)
    feats_c = extract_features(vgg, normalization, content, content_layers)
    feats_s = extract_features(vgg, normalization, style, style_layers)
    losses = {}
    wanted = set(content_layers) | set(style_layers)
    for name, layer in vgg.named_children():
        if not wanted:
            break
        if isinstance(layer, nn.ReLU):
            layer.inplace = False
        model.add_module(name, layer)
        for kind, feats, cls in (("content", feats_c, RefContentLoss), ("style", feats_s, RefStyleLoss)):
            if name in feats:
                losses[kind, name] = cls(feats[name])
                model.add_module(f"{kind}_{name}", losses[kind, name])
        wanted.discard(name)
    return model, [losses["content", n] for n in content_layers], [losses["style", n] for n in style_layers]


def test_build_check_passes_correct_implementations(capsys):
    for fn in (build_reference, build_named):
        hw.check_build_model(fn)
        assert "check_build_model passed" in capsys.readouterr().out


def test_build_check_blank():
    fails(hw.check_build_model, blank, "not implemented yet", kind=hw.NotImplementedYet)


def test_build_check_in_place_relu():
    def keeps_relus(*args, **kwargs):
        return build_tutorial(*args, **kwargs, fix_relu=False)

    fails(hw.check_build_model, keeps_relus, "in-place ReLU", "overwrites", "inplace=False")


def test_build_check_not_trimmed():
    def untrimmed(*args, **kwargs):
        return build_tutorial(*args, **kwargs, trim=False)

    fails(hw.check_build_model, untrimmed, "not trimmed", "conv3_2")


def test_build_check_loss_layer_before_its_layer():
    def before(*args, **kwargs):
        return build_tutorial(*args, **kwargs, loss_before=True)

    fails(hw.check_build_model, before, "wrong place", "not before it")


def test_build_check_style_target_from_content():
    def from_content(*args, **kwargs):
        return build_tutorial(*args, **kwargs, style_from=lambda c, s: c)

    fails(hw.check_build_model, from_content, "style loss", "not 0 when G = S")


def test_build_check_missing_normalisation_and_return_value():
    def no_norm(content, style, content_layers, style_layers, *, vgg, normalization):
        model, cl, sl = build_reference(content, style, content_layers, style_layers, vgg=vgg,
                                        normalization=nn.Identity())
        return model, cl, sl

    fails(hw.check_build_model, no_norm, "not the normalization")

    def model_only(*args, **kwargs):
        return build_reference(*args, **kwargs)[0]

    fails(hw.check_build_model, model_only, "three things")


def build_variant(*, trim="complete", use_elif=False, lookup=False):
    """Targets computed alongside (C and S run through the layers as they are added), with switches.

    ``trim``: after the deepest loss layer by position ("index"), once every loss layer exists ("complete"),
    or the mistakes: after ``style_layers[-1]`` ("style"), after ``max()`` of the names ("max"). ``use_elif``:
    a layer in both lists gets only its content loss. ``lookup``: the lists are built by name afterwards.
    """
    def build(content, style, content_layers, style_layers, *, vgg, normalization):
        model = nn.Sequential(normalization)
        cl, sl, made = [], [], {}
        with torch.no_grad():
            c, s = normalization(content), normalization(style)
        last = {"style": style_layers[-1], "max": max(content_layers + style_layers),
                "index": max(content_layers + style_layers, key=nst_helpers.vgg.layer_index)}.get(trim)
        for name, layer in vgg.named_children():
            if isinstance(layer, nn.ReLU):
                layer = nn.ReLU(inplace=False)
            model.append(layer)
            with torch.no_grad():
                c, s = layer(c), layer(s)
            if name in content_layers:
                made["content", name] = RefContentLoss(c)
                cl.append(made["content", name])
                model.append(cl[-1])
            if name in style_layers and not (use_elif and name in content_layers):
                made["style", name] = RefStyleLoss(s)
                sl.append(made["style", name])
                model.append(sl[-1])
            if name == last or (last is None and len(cl) == len(content_layers) and len(sl) == len(style_layers)):
                break
        if lookup:
            return model, [made["content", n] for n in content_layers], [made["style", n] for n in style_layers]
        return model, cl, sl

    return build


#: A correct build_model written from scratch: targets by running C and S alongside, trimmed after the
#: deepest loss layer by position, lists by name.
build_reference = build_variant(trim="index", lookup=True)


def test_build_check_passes_lists_in_any_order(capsys):
    hw.check_build_model(build_variant(lookup=True))
    assert "check_build_model passed" in capsys.readouterr().out


def test_build_check_trimmed_after_the_last_style_layer():
    """The deepest loss layer need not be style_layers[-1]: trimming there is named, whatever follows from it."""
    msg = fails(hw.check_build_model, build_variant(trim="style"), "cut off before its deepest loss layer",
                "trimmed after style_layers[-1]", "deepest loss layer is 'conv3_1'", "deepest of all loss layers")
    assert "read the error above" not in msg
    fails(hw.check_build_model, build_variant(trim="style", lookup=True), "cut off before its deepest loss layer",
          "no loss layer was made for 'conv3_1'", "deepest of all loss layers")
    fails(hw.check_build_model, build_variant(trim="max"), "max() compares strings")


def test_build_check_elif_for_a_layer_in_both_lists():
    for lookup in (False, True):
        fails(hw.check_build_model, build_variant(use_elif=True, lookup=lookup),
              "'relu2_1' is in both lists but got only a content loss", "`elif` where two `if`s are needed")


# --------------------------------------------------------------------------------------------- closure


def closure_reference(model, G, optimizer, content_losses, style_losses, alpha, beta):
    def closure():
        optimizer.zero_grad()
        model(G)
        c = sum(m.loss for m in content_losses) / len(content_losses)
        s = torch.stack([m.loss for m in style_losses]).mean()
        loss = alpha * c + beta * s
        loss.backward()
        return loss

    return closure


def closure_variant(*, zero=True, swap=False, summed=False, backward=True, forward_inside=True, clamp=False,
                    zero_after=False):
    def make(model, G, optimizer, content_losses, style_losses, alpha, beta):
        if swap:
            alpha, beta = beta, alpha
        if not forward_inside:
            model(G)

        def closure():
            if zero and not zero_after:
                optimizer.zero_grad()
            if forward_inside:
                model(G)
            c = sum(m.loss for m in content_losses) / len(content_losses)
            s = sum(m.loss for m in style_losses) / (1 if summed else len(style_losses))
            loss = alpha * c + beta * s
            if backward:
                loss.backward()
            if zero_after:
                optimizer.zero_grad()
            if clamp:
                with torch.no_grad():
                    G.clamp_(0.2, 0.8)
            return loss

        return closure

    return make


def test_closure_check_passes_correct_implementations(capsys):
    hw.check_closure(closure_reference)
    hw.check_closure(closure_variant())
    assert capsys.readouterr().out.count("check_closure passed") == 2


def test_closure_check_blank():
    fails(hw.check_closure, blank, "not implemented yet", kind=hw.NotImplementedYet)

    def blank_inside(*args):
        def closure():
            raise NotImplementedError()

        return closure

    fails(hw.check_closure, blank_inside, "not implemented yet", "closure()", kind=hw.NotImplementedYet)


def test_closure_check_missing_zero_grad():
    fails(hw.check_closure, closure_variant(zero=False), "gradients accumulate", "exactly twice",
          "optimizer.zero_grad()")


def test_closure_check_swapped_and_summed_weights():
    fails(hw.check_closure, closure_variant(swap=True), "alpha and beta are swapped")
    fails(hw.check_closure, closure_variant(summed=True), "summed the style losses")


def test_closure_check_backward_and_zero_grad_order():
    fails(hw.check_closure, closure_variant(backward=False), "no gradient", "loss.backward()")
    fails(hw.check_closure, closure_variant(zero_after=True), "no gradient", "before it, not after")


def test_closure_check_forward_outside_and_clamping():
    fails(hw.check_closure, closure_variant(forward_inside=False), "second time", "model(G) must run inside")
    fails(hw.check_closure, closure_variant(clamp=True), "changed the pixels of G", "clamp between steps")


def test_closure_check_return_value():
    def returns_float(*args):
        inner = closure_reference(*args)
        return lambda: inner().item()

    fails(hw.check_closure, returns_float, "loss tensor", "not loss.item()")

    def returns_closure_result(*args):
        return closure_reference(*args)()

    fails(hw.check_closure, returns_closure_result, "closure function itself", "return closure")


def closure_with(kind):
    """The reference closure with one planted mistake of a kind found in student work."""
    def make(model, G, optimizer, content_losses, style_losses, alpha, beta):
        def closure():
            if kind == "grad.zero_":
                G.grad.zero_()
            else:
                optimizer.zero_grad()
            if kind == "no_grad":
                with torch.no_grad():
                    model(G)
            else:
                model(G)
            c = sum(m.loss for m in content_losses) / len(content_losses)
            s = sum(m.loss for m in style_losses) / len(style_losses)
            if kind == "torch.tensor":
                s = torch.tensor([m.loss for m in style_losses]).mean()
            if kind == "item":
                c = sum(m.loss.item() for m in content_losses) / len(content_losses)
            if kind == "all numbers":
                c, s = c.item(), s.item()
            loss = alpha * c + beta * s
            if kind == "all numbers":
                loss = torch.tensor(loss)
            loss.backward()
            if kind == "step":
                optimizer.step()
            if kind == "step(closure)":
                optimizer.step(closure)
            return loss

        return closure

    return make


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_closure_check_terms_cut_off_from_autograd():
    msg = fails(hw.check_closure, closure_with("torch.tensor"), "lacks part of the loss",
                "without the term(s) of style_losses[0], style_losses[1], style_losses[2]", "torch.tensor([...])",
                "torch.stack")
    assert "same loss you return" not in msg
    fails(hw.check_closure, closure_with("item"), "without the term(s) of content_losses[0]", ".item()")
    fails(hw.check_closure, closure_with("all numbers"), "not connected to G", "plain numbers")


def test_closure_check_step_inside_the_closure():
    for kind in ("step", "step(closure)"):
        msg = fails(hw.check_closure, closure_with(kind), "calls optimizer.step()", "out of the closure")
        assert "clamp" not in msg


def test_closure_check_raw_errors_are_explained():
    msg = fails(hw.check_closure, closure_with("grad.zero_"), "G.grad is None until the first backward()",
                "optimizer.zero_grad()")
    assert "read the error above" not in msg
    fails(hw.check_closure, closure_with("no_grad"), "not connected to G", "torch.no_grad()")


# --------------------------------------------------------------------------------------------- texture


@pytest.fixture(scope="module")
def style_and_texture():
    """The bundled 'swirls' at 64 px and a texture of it: 30 L-BFGS evaluations from noise (a few seconds)."""
    S = nst_helpers.load_image(nst_helpers.bundled_image("swirls", "style"), size=64)
    T, _ = nst_helpers.run_style_transfer(S, S, alpha=0, beta=1, init="random", content_layers=[], steps=30,
                                          progress=False, seed=0)
    return S, T


def test_texture_check_passes_a_synthesised_texture(style_and_texture, capsys):
    S, T = style_and_texture
    hw.check_texture(T, S)
    hw.check_texture(lambda style: T, S)
    assert capsys.readouterr().out.count("check_texture passed") == 2


def test_texture_check_blank(style_and_texture):
    S, _ = style_and_texture
    with pytest.raises(hw.NotImplementedYet, match="not implemented yet"):
        hw.check_texture(blank, S)


def test_texture_check_rejects_noise_and_a_photo(style_and_texture):
    S, _ = style_and_texture
    noise = torch.rand(S.shape, generator=torch.Generator().manual_seed(3))
    with pytest.raises(hw.CheckFailed, match="far from those of the style image"):
        hw.check_texture(noise, S)
    photo = nst_helpers.load_image(nst_helpers.bundled_image("chelsea"), size=64)
    with pytest.raises(hw.CheckFailed, match="far from those of the style image"):
        hw.check_texture(photo, S)


def test_texture_check_rejects_copies(style_and_texture):
    S, _ = style_and_texture
    with pytest.raises(hw.CheckFailed, match="is a copy of the style image"):
        hw.check_texture(S.clone(), S)
    with pytest.raises(hw.CheckFailed, match="shifted copy"):
        hw.check_texture(torch.roll(S, (13, 21), (2, 3)), S)
    with pytest.raises(hw.CheckFailed, match="mirrored copy"):
        hw.check_texture(S.flip(3), S)


def _shuffled_pieces(S, size, seed=0, turn=False):
    """S cut into size x size pieces, shuffled (and each turned by a multiple of 90 degrees with ``turn``)."""
    _, c, h, w = S.shape
    nh, nw = h // size, w // size
    pieces = [S[..., i * size:(i + 1) * size, j * size:(j + 1) * size] for i in range(nh) for j in range(nw)]
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pieces), generator=g).tolist()
    pieces = [torch.rot90(pieces[k], int(torch.randint(4, (1,), generator=g)), (2, 3)) if turn else pieces[k]
              for k in order]
    rows = [torch.cat(pieces[i * nw:(i + 1) * nw], 3) for i in range(nh)]
    return torch.cat(rows, 2)


def _noisy(S, std, seed=1):
    return (S + std * torch.randn(S.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def _blurred(S, sigma):
    from nst_helpers.quality import gaussian_blur

    return gaussian_blur(S, sigma)


@pytest.mark.parametrize("cheat, phrase", [
    (lambda S: _noisy(S, 0.1), "copy of S with noise"),
    (lambda S: _noisy(S, 0.3), "copy of S with noise"),
    (lambda S: _shuffled_pieces(S, 16), "pieces of S"),
    (lambda S: _shuffled_pieces(S, 16, turn=True), "pieces of S"),
    (lambda S: _shuffled_pieces(S, 8), "pieces of S"),
    (lambda S: _blurred(S, 1.0), "blurred copy"),
    (lambda S: torch.nn.functional.interpolate(S, scale_factor=0.5, mode="area").repeat(1, 1, 2, 2), "tiled"),
    (lambda S: torch.rot90(S, 1, (2, 3)), "rotated by 90 degrees"),
    (lambda S: S.transpose(2, 3), "transposed"),
    (lambda S: S.repeat(1, 1, 2, 2), "pieces of S"),
], ids=["noise 0.1", "noise 0.3", "16 px pieces", "16 px pieces turned", "8 px pieces", "blurred", "tiled",
        "rotated", "transposed", "repeated"])
def test_texture_check_rejects_near_copies(style_and_texture, cheat, phrase):
    """A texture must be new: copies of S, however changed, are named as such, not as 'optimise longer'."""
    S, _ = style_and_texture
    with pytest.raises(hw.CheckFailed) as info:
        hw.check_texture(cheat(S), S)
    msg = str(info.value)
    assert "not new" in msg and phrase in msg, msg
    assert "optimise longer" not in msg


def test_texture_check_rejects_a_polished_noisy_copy(style_and_texture):
    """S plus noise, then 30 evaluations of L-BFGS on the style loss: its score is low, but it is still S."""
    S, _ = style_and_texture
    polished, _ = nst_helpers.run_style_transfer(S, S, alpha=0, beta=1, init=_noisy(S, 0.3), content_layers=[],
                                                 steps=30, progress=False, seed=0)
    assert hw.texture_score(polished, S)[0] < hw.TEXTURE_MAX_SCORE  # the Gram matrices alone would let it pass
    with pytest.raises(hw.CheckFailed, match="not new: it is a copy of S with noise"):
        hw.check_texture(polished, S)


@pytest.mark.parametrize("style", ["starry_night", "stripes"])
def test_texture_check_passes_textures_of_other_styles(style, capsys):
    """Real textures (noise, then L-BFGS on the style loss) of a painting, another painting and stripes pass."""
    if style == "stripes":
        y, x = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
        v = 0.5 + 0.5 * torch.sin((x + 0.5 * y) / 11 * 6.2832)
        S = torch.stack([v, 0.3 + 0.4 * v, 1 - v])[None]
    else:
        S = nst_helpers.load_image(nst_helpers.bundled_image(style, "style"), size=64)
    T, _ = nst_helpers.run_style_transfer(S, S, alpha=0, beta=1, init="random", content_layers=[], steps=40,
                                          progress=False, seed=1)
    hw.check_texture(T, S)
    assert "check_texture passed" in capsys.readouterr().out


def test_texture_check_rejects_invalid_images(style_and_texture):
    S, T = style_and_texture
    with pytest.raises(hw.CheckFailed, match="outside \\[0, 1\\]"):
        hw.check_texture(T * 2 - 0.5, S)
    with pytest.raises(hw.CheckFailed, match="flat"):
        hw.check_texture(torch.full(S.shape, 0.5), S)
    with pytest.raises(hw.CheckFailed, match="wrong shape"):
        hw.check_texture(T[0], S)


# --------------------------------------------------------------------------------------------- notebooks


def test_solution_notebooks_have_nbgrader_cells():
    for name in NOTEBOOKS:
        nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Homework")
        assert nb.metadata["kernelspec"]["name"] == "python3"
        ids = [c.id for c in nb.cells]
        assert len(ids) == len(set(ids)), f"{name}: duplicate cell ids"
        grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
        assert len(grade_ids) == len(set(grade_ids)), f"{name}: duplicate nbgrader grade_id"
        solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        test_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata["nbgrader"]["solution"]]
        assert solutions and test_cells
        for c in test_cells:
            assert c.metadata["nbgrader"]["points"] > 0 and "check_" in c.source
            assert "### BEGIN HIDDEN TESTS" in c.source, f"{name}/{c.id}: no hidden tests"
        for c in nb.cells:
            assert "slideshow" in c.metadata, f"{name}/{c.id}: no slide metadata"
            if c.cell_type == "code":
                assert not any(o.get("output_type") == "error" for o in c.get("outputs", [])), f"{name}/{c.id}"


def test_templates_equal_a_fresh_generation(tmp_path):
    assert make_homework.generate(SOLUTIONS, tmp_path) == 0
    for name in NOTEBOOKS:
        fresh = (tmp_path / f"{name}.ipynb").read_bytes()
        committed = (ROOT / "homework" / f"{name}.ipynb").read_bytes()
        assert fresh == committed, f"homework/{name}.ipynb is stale: run `make homework`"
    assert make_homework.main(["--check"]) == 0


def test_templates_have_no_solutions_hidden_tests_or_outputs():
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "homework" / f"{name}.ipynb", as_version=4)
        solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
        assert [c.id for c in nb.cells] == [c.id for c in solution.cells]
        text = "\n".join(c.source for c in nb.cells)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_reference"):
            assert marker not in text, f"{name}: {marker!r} left in the student version"
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None
            if c.metadata.get("nbgrader", {}).get("solution"):
                assert ("# YOUR CODE HERE\n" in c.source and "raise NotImplementedError()" in c.source) \
                    or c.source == "YOUR ANSWER HERE"


def test_generation_replaces_regions_like_nbgrader():
    cell = nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\nf(1)")
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "f", "locked": False}
    out = make_homework.student_cell(cell, "test")
    assert out.source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nf(1)"
    test = nbformat.v4.new_code_cell("check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS\n")
    test.metadata["nbgrader"] = {"solution": False, "grade": True, "grade_id": "t", "locked": True, "points": 1}
    assert make_homework.student_cell(test, "test").source == "check(f)"
    plain = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(make_homework.MarkerError, match="not a solution cell"):
        make_homework.student_cell(plain, "test")
    open_region = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")
    open_region.metadata["nbgrader"] = {"solution": True}
    with pytest.raises(make_homework.MarkerError, match="never closed"):
        make_homework.student_cell(open_region, "test")


def _execute_until_error(path: Path):
    """Execute a notebook with nbclient, stopping at the first error; return (notebook, index of the error cell)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError:
        pass
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    return nb, errors


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_template_runs_until_its_first_blank(name, monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    nb, errors = _execute_until_error(ROOT / "homework" / f"{name}.ipynb")
    first_solution = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    assert errors == [first_solution], f"{name}: errors in cells {errors}, first solution cell {first_solution}"
    error = next(o for o in nb.cells[first_solution].outputs if o.output_type == "error")
    assert error.ename == "NotImplementedError"
    for cell in nb.cells[:first_solution]:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"{name}: cell {cell.id} before the blank did not run"


def test_grading_without_nbgrader(tmp_path, monkeypatch):
    """The solution earns every autograded point; the blank template earns none (hw1 only: it is fast)."""
    monkeypatch.setenv("NST_QUICK", "1")
    name = "hw1_gram_and_losses"
    student = tmp_path / f"{name}.ipynb"
    student.write_bytes((ROOT / "homework" / f"{name}.ipynb").read_bytes())
    blank_scores = make_homework.grade(student, SOLUTIONS, timeout=300)
    auto = [s for s in blank_scores if s.status != "manual"]
    assert [s.points for s in auto] == [0, 0, 0]
    assert all("NotImplementedError" in s.status or "not implemented yet" in s.status for s in auto), auto
    assert [s.status for s in blank_scores if s.status == "manual"] == ["manual"]

    solved = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    for cell in solved.cells:  # a student who also edited a check cell: the grader puts the original back
        if cell.id == "hw1-ex2-tests":
            cell.source = "pass"
    nbformat.write(solved, student)
    scores = make_homework.grade(student, SOLUTIONS, timeout=300)
    assert [(s.grade_id, s.points, s.max_points) for s in scores if s.status != "manual"] == [
        ("hw1-ex1-tests", 3, 3), ("hw1-ex2-tests", 2, 2), ("hw1-ex3-tests", 3, 3)]


def test_build_check_style_image_of_another_size():
    """The PyTorch-tutorial approach runs S through the content loss layers: it breaks when S has another size."""
    def through_model(content, style, content_layers, style_layers, *, vgg, normalization):
        model = nn.Sequential(normalization)
        cl, sl = [], []
        for name, layer in vgg.named_children():
            model.append(nn.ReLU(inplace=False) if isinstance(layer, nn.ReLU) else layer)
            if name in content_layers:
                cl.append(RefContentLoss(model(content).detach()))
                model.append(cl[-1])
            if name in style_layers:
                sl.append(RefStyleLoss(model(style).detach()))
                model.append(sl[-1])
            if len(cl) == len(content_layers) and len(sl) == len(style_layers):
                break
        return model, cl, sl

    fails(hw.check_build_model, through_model, "20 x 24 style image", "C and S may differ in size")


def build_old_order(vgg, normalization, content, style, content_layers, style_layers):
    """A correct build_model with the homework's old signature (vgg and normalization first)."""
    return build_reference(content, style, content_layers, style_layers, vgg=vgg, normalization=normalization)


def test_build_check_old_signature():
    """The old order is recognised by its signature, and the message says the new one and how to change it."""
    msg = fails(hw.check_build_model, build_old_order, "old signature",
                "build_model(content, style, content_layers, style_layers, *, vgg, normalization)",
                "nst_helpers.model.build_model", "notebook 03", "keyword-only",
                "vgg=vgg, normalization=normalization")
    assert "build_model(vgg, normalization, content, style, content_layers, style_layers)" in msg


def test_build_check_old_order_behind_other_names_or_a_wrapper():
    """Other parameter names, or a wrapper without a readable signature: the call shows the mix-up."""
    def renamed(net, norm, content, style, content_layers, style_layers):
        return build_old_order(net, norm, content, style, content_layers, style_layers)

    fails(hw.check_build_model, renamed, "cannot be called as", "build_model(net, norm, content, style",
          "signature is now build_model(content, style, content_layers, style_layers, *, vgg, normalization)")

    def forwards(*args, **kwargs):
        return build_old_order(*args, **kwargs)

    fails(hw.check_build_model, forwards, "mixed up its arguments", "multiple values for argument 'vgg'",
          "signature is now build_model(content, style, content_layers, style_layers, *, vgg, normalization)")

    def unpacks(*args, **kwargs):  # reads the new call in the old order: images where the modules were
        vgg, normalization, content, style, content_layers, style_layers = (*args, *kwargs.values())
        return build_old_order(vgg, normalization, content, style, content_layers, style_layers)

    fails(hw.check_build_model, unpacks, "mixed up its arguments", "Tensor")

    def walks(*args, **kwargs):
        vgg = args[0]
        return [name for name, _ in vgg.named_children()]

    fails(hw.check_build_model, walks, "mixed up its arguments", "named_children")


def test_build_check_old_signature_is_not_a_blank():
    """A blank exercise whose signature was kept from the old homework is told about the signature first."""
    def old_blank(vgg, normalization, content, style, content_layers, style_layers):
        raise NotImplementedError()

    fails(hw.check_build_model, old_blank, "old signature")
