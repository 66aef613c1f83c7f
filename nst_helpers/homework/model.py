"""Exercise: assemble the model, ``build_model(content, style, content_layers, style_layers, *, vgg, normalization)``.

Also the networks the exercise and its check run on: :func:`tiny_vgg` (VGG19's layer names, a few channels,
random weights) and :func:`load_vgg19_inplace` (the real VGG19 with torchvision's in-place ReLUs).
"""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..model import Normalization, build_model
from ..vgg import LAYER_NAMES, load_vgg19
from ._harness import (
    CheckFailed,
    NotImplementedYet,
    _call,
    _close,
    _fail,
    _fmt_tensor,
    _get_loss,
    _num,
    _passed,
    _require_callable,
    _small_image,
    _small_work,
)

#: Channels per block of the tiny VGG used by the checks (the real one: 64, 128, 256, 512, 512).
_TINY_CHANNELS = {1: 4, 2: 6, 3: 8, 4: 8, 5: 8}


def tiny_vgg(inplace: bool = False, seed: int = 0) -> nn.Sequential:
    """A VGG19-shaped stack with the real layer names but 4-8 channels and random weights (for fast checks).

    ``inplace=True`` makes its ReLUs work in place, as torchvision's VGG19 does.
    """
    g = torch.Generator().manual_seed(seed)
    layers = []
    in_ch = 3
    for name in LAYER_NAMES:
        if name.startswith("conv"):
            out_ch = _TINY_CHANNELS[int(name[4])]
            conv = nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2.0 / (9 * in_ch)))
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
            layers.append((name, conv))
            in_ch = out_ch
        elif name.startswith("relu"):
            layers.append((name, nn.ReLU(inplace=inplace)))
        else:
            layers.append((name, nn.MaxPool2d(kernel_size=2, stride=2)))
    model = nn.Sequential(OrderedDict(layers)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_vgg19_inplace(last_layer: str | None = None, weights: str = "caffe") -> nn.Sequential:
    """:func:`~nst_helpers.vgg.load_vgg19`, but with ``nn.ReLU(inplace=True)`` as in ``torchvision.models.vgg19()``.

    The model-assembly homework starts from this stack: in place, a ReLU
    overwrites its input, which is harmless for classification but not when a
    loss layer keeps that input.
    """
    vgg = load_vgg19(weights, last_layer=last_layer)
    for layer in vgg:
        if isinstance(layer, nn.ReLU):
            layer.inplace = True
    return vgg


_BUILD = "check_build_model"
#: The exercise's signature: the same as nst_helpers.model.build_model's and notebook 03's.
_SIGNATURE = "build_model(content, style, content_layers, style_layers, *, vgg, normalization)"
#: Loss layers after convolutions too, where in-place ReLUs do harm.
_CONTENT_LAYERS = ("conv3_1",)
_STYLE_LAYERS = ("relu1_1", "conv2_1", "relu3_1")
_LAST = "relu3_1"

# --------------------------------------------------------------------------------------------- the signature

#: Errors that say an image landed where the network or the normalization was expected, or a call that does not
#: fit the signature: the signs of a build_model body written for the old order (vgg, normalization first).
_MIXED_UP = ("'Tensor' object has no attribute 'named_children'", "'Tensor' object is not callable",
             "Tensor is not a Module subclass", "multiple values for argument 'vgg'",
             "multiple values for argument 'normalization'", "unexpected keyword argument 'vgg'",
             "unexpected keyword argument 'normalization'")


def _fail_signature(problem: str, found: str, cause: BaseException | None = None):
    _fail(_BUILD, f"{problem} The signature is now {_SIGNATURE}: the same as nst_helpers.model.build_model "
                  "and notebook 03's build_model.",
          expected=f"def {_SIGNATURE}:", found=found,
          hint="C and S come first, then the two lists of layer names; vgg and normalization are keyword-only "
               "arguments, after the `*`. Change the first line of your function to `def build_model(content, "
               "style, content_layers, style_layers, *, vgg, normalization):` (the body can stay as it is) and "
               "call it as build_model(C, S, content_layers, style_layers, vgg=vgg, normalization=normalization).",
          cause=cause)


def _check_signature(fn: Callable) -> None:
    """The function must take C, S and the layer lists first, vgg and normalization as keywords."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read (a builtin, ...): the call will tell
        return
    found = f"build_model{sig}"
    params = list(sig.parameters)
    if params[:1] == ["vgg"]:
        _fail_signature("your build_model has the old signature build_model(vgg, normalization, content, style, "
                        "content_layers, style_layers).", found)
    try:
        sig.bind(None, None, None, None, vgg=None, normalization=None)
    except TypeError as exc:
        _fail_signature(f"your build_model cannot be called as build_model(C, S, content_layers, style_layers, "
                        f"vgg=..., normalization=...) ({exc}).", found)


def _call_build(fn: Callable, C: torch.Tensor, S: torch.Tensor, norm: nn.Module, what: str,
                hint: str | None = None) -> Any:
    """``fn(C, S, content_layers, style_layers, vgg=<tiny VGG, in-place ReLUs>, normalization=norm)``."""
    try:
        return _call(_BUILD, what, fn, C, S, list(_CONTENT_LAYERS), list(_STYLE_LAYERS),
                     vgg=tiny_vgg(inplace=True), normalization=norm, hint=hint)
    except NotImplementedYet:
        raise
    except CheckFailed as err:
        cause = err.__cause__
        if cause is not None and any(sign in str(cause) for sign in _MIXED_UP):
            _fail_signature("your build_model mixed up its arguments: it uses an image where it expects the "
                            "network or the normalization.",
                            f"{type(cause).__name__}: {cause}", cause=cause)
        raise


# --------------------------------------------------------------------------------------------- what it returns


class _Assembled:
    """The student's model as a list of children, and which of them are the returned loss layers."""

    def __init__(self, model: nn.Sequential, c_losses: Sequence[nn.Module], s_losses: Sequence[nn.Module]):
        self.model = model
        self.children = list(model.children())
        self.index = {id(m): i for i, m in enumerate(self.children)}
        self.content, self.style = list(c_losses), list(s_losses)
        self.losses = self.content + self.style
        self.loss_ids = {id(m) for m in self.losses}

    def modules_before(self, i: int) -> int:
        """How many children before child ``i`` are not loss layers (the normalization, then VGG layers)."""
        return sum(1 for m in self.children[:i] if id(m) not in self.loss_ids)

    def position(self, loss_layer: nn.Module) -> int:
        return self.modules_before(self.index[id(loss_layer)])

    def labelled(self) -> list[tuple[nn.Module, str, str]]:
        """(loss layer, its layer name, "content" or "style") for every returned loss layer."""
        return [(m, n, "content") for m, n in zip(self.content, _CONTENT_LAYERS)] + \
               [(m, n, "style") for m, n in zip(self.style, _STYLE_LAYERS)]


def _check_returns_three(result: Any) -> _Assembled:
    if not isinstance(result, tuple) or len(result) != 3:
        _fail(_BUILD, "build_model must return three things.",
              expected="(model, content_losses, style_losses)", found=f"{type(result).__name__}",
              hint="end with `return model, content_losses, style_losses`.")
    model, c_losses, s_losses = result
    if not isinstance(model, nn.Sequential):
        _fail(_BUILD, "the model must be an nn.Sequential.", found=type(model).__name__,
              hint="collect the modules in a list and build nn.Sequential(*modules) (or add_module one by one).")
    for got, want, what in ((c_losses, _CONTENT_LAYERS, "content"), (s_losses, _STYLE_LAYERS, "style")):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            _fail(_BUILD, f"wrong number of {what} loss layers returned.",
                  expected=f"a list of {len(want)} ({', '.join(want)})",
                  found=f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}",
                  hint=f"append one loss layer per name in {what}_layers, in that order.")
    return _Assembled(model, c_losses, s_losses)


def _check_losses_in_model(a: _Assembled) -> None:
    for lm in a.losses:
        if id(lm) not in a.index:
            _fail(_BUILD, "a loss layer you return is not inside the model.",
                  expected="the very modules that were inserted into the model",
                  found=f"{type(lm).__name__} not found among the model's children",
                  hint="create each loss layer once, insert it into the model and append the same object to "
                       "the list.")


# --------------------------------------------------------------------------------------------- its structure


def _check_in_place_relu(a: _Assembled) -> None:
    """In-place ReLUs right after a loss layer overwrite the tensor that layer keeps."""
    children = a.children
    for i, mod in enumerate(children):
        if isinstance(mod, nn.ReLU) and mod.inplace and i > 0 and id(children[i - 1]) in a.loss_ids:
            k = a.modules_before(i)  # normalization = 0, conv1_1 = 1, ...
            which = f"'{LAYER_NAMES[k - 1]}'" if 0 < k <= len(LAYER_NAMES) else f"child {i}"
            _fail(_BUILD, f"an in-place ReLU ({which}) runs right after a loss layer.",
                  expected="nn.ReLU(inplace=False) in the model",
                  found=f"{mod!r} after {type(children[i - 1]).__name__}",
                  hint="an in-place ReLU overwrites its input: the very tensor the loss layer before it kept "
                       "(to compute its loss and gradient, or as its target). torchvision's VGG19 uses "
                       "inplace=True; replace each ReLU with nn.ReLU(inplace=False).")


def _check_positions(a: _Assembled) -> None:
    """Each loss layer right after its layer: after the normalization and that many VGG layers."""
    for lm, lname, what in a.labelled():
        pos = a.position(lm)
        want = LAYER_NAMES.index(lname) + 2
        if pos == want:
            continue
        after = "nothing" if pos == 0 else ("the normalization" if pos == 1 else
                                            f"'{LAYER_NAMES[pos - 2]}'" if pos - 2 < len(LAYER_NAMES)
                                            else "past the last VGG layer")
        _fail(_BUILD, f"the {what} loss layer for '{lname}' is in the wrong place.",
              expected=f"right after '{lname}' (after the normalization and {want - 1} VGG layers)",
              found=f"after {after}",
              hint="walk through vgg.named_children() after putting the normalization first, append each "
                   "layer, then its loss layer when the layer's name is in the list." if pos != want - 1 or
              pos == 0 else "insert the loss layer after its VGG layer, not before it.")


def _check_trimmed(a: _Assembled) -> None:
    last_loss = max(a.index[id(m)] for m in a.losses)
    extra = a.children[last_loss + 1:]
    if extra:
        first = a.modules_before(last_loss)  # VGG layers start at 1
        names = [LAYER_NAMES[first - 1 + k] if first - 1 + k < len(LAYER_NAMES) else type(m).__name__
                 for k, m in enumerate(extra)]
        listed = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        _fail(_BUILD, "the model is not trimmed after its last loss layer.",
              expected=f"the model to end with the loss layer after '{_LAST}'",
              found=f"{len(extra)} more module(s) after it: {listed}",
              hint="stop adding layers (break) once the deepest loss layer is in: the layers after it cost "
                   "time and cannot change any loss.")


def _check_normalization_first(a: _Assembled, C: torch.Tensor, norm: nn.Module) -> None:
    first_module = a.children[0]
    if not (isinstance(first_module, nn.Module) and id(first_module) not in a.loss_ids):
        _fail(_BUILD, "the model must start with the normalization.")
    with torch.no_grad():
        first = _call(_BUILD, "the first module of your model", first_module, C)
    if not isinstance(first, torch.Tensor) or not _close(first, norm(C)):
        _fail(_BUILD, "the first module of the model is not the normalization.",
              expected="model[0] == normalization (RGB in [0, 1] -> what VGG19 expects)",
              found=type(first_module).__name__,
              hint="start the module list with the normalization you were given; VGG19 was trained on "
                   "normalised images.")


# --------------------------------------------------------------------------------------------- its losses


def _check_zero_at(a: _Assembled, image: torch.Tensor, letter: str, losses: list[nn.Module], layers: Sequence[str],
                   scales: list[float], kind: str, hint: str) -> None:
    """With G = the image the targets came from, each of these loss layers gives (almost) 0."""
    with torch.no_grad():
        _call(_BUILD, f"a forward pass of your model with G = {letter}", a.model, image.clone())
    for lm, lname, scale in zip(losses, layers, scales):
        v = _num(_get_loss(_BUILD, lm, type(lm).__name__))
        if abs(v) > 1e-5 * scale:
            _fail(_BUILD, f"the {kind} loss at '{lname}' is not 0 when G = {letter}.",
                  expected=f"0 (G is the {kind} image itself)", found=f"{v:.6g}", hint=hint)


def _check_targets(a: _Assembled, C: torch.Tensor, S: torch.Tensor, ref_c: list[nn.Module],
                   ref_s: list[nn.Module]) -> None:
    """Content loss 0 at G = C, style loss 0 at G = S ("0" relative to the reference's loss at a random G)."""
    _check_zero_at(a, C, "C", a.content, _CONTENT_LAYERS, [_num(m.loss) for m in ref_c], "content",
                   hint="its target must be C's features at exactly that layer: computed from C (not S), "
                        "through the normalization and the layers up to and including that one, and kept as "
                        "a copy that no in-place operation can overwrite.")
    _check_zero_at(a, S, "S", a.style, _STYLE_LAYERS, [_num(m.loss) for m in ref_s], "style",
                   hint="its target must come from S's features (not C's) at exactly that layer, computed "
                        "through the normalization.")


def _check_like_reference(losses: list[nn.Module], refs: list[nn.Module], layers: Sequence[str], problem: str,
                          hint: str) -> None:
    """After a forward pass of the same G, each loss equals the reference's; ``problem`` has a {layer} field."""
    for lm, ref, lname in zip(losses, refs, layers):
        v = _get_loss(_BUILD, lm, type(lm).__name__)
        if not _close(v.reshape(()), ref.loss.reshape(())):
            _fail(_BUILD, problem.format(layer=lname), expected=f"{_num(ref.loss):.6g}", found=f"{_num(v):.6g}",
                  hint=hint)


def _check_gradient(a: _Assembled, G: torch.Tensor, ref_model: nn.Module, ref_losses: list[nn.Module],
                    Gr: torch.Tensor) -> None:
    """The gradient of the summed losses with respect to G (after a forward pass of G) is the reference's."""
    total = sum((m.loss for m in a.losses), torch.zeros(()))
    try:
        total.backward()
    except RuntimeError as exc:
        hint = ("an in-place operation (an nn.ReLU(inplace=True)) overwrote a tensor that a loss layer needs "
                "for its gradient; use nn.ReLU(inplace=False).") if "inplace" in str(exc) else None
        _fail(_BUILD, f"backward through your model failed: {exc}", hint=hint, cause=exc)
    Gref = Gr.clone().requires_grad_(True)
    ref_model(Gref)
    sum((m.loss for m in ref_losses), torch.zeros(())).backward()
    if G.grad is None or not _close(G.grad, Gref.grad, 1e-3):
        _fail(_BUILD, "the gradient of the losses with respect to G is wrong.",
              expected=_fmt_tensor(Gref.grad), found="None" if G.grad is None else _fmt_tensor(G.grad),
              hint="nothing in the model may detach the features on their way from G to the loss layers.")


def _reference(C: torch.Tensor, S: torch.Tensor):
    """The package's build_model, called the way the exercise's is, on the same tiny VGG without in-place ReLUs."""
    return build_model(C, S, list(_CONTENT_LAYERS), list(_STYLE_LAYERS), vgg=tiny_vgg(inplace=False),
                       normalization=Normalization("caffe"))


def _check_losses(a: _Assembled, C: torch.Tensor, S: torch.Tensor, Gr: torch.Tensor) -> None:
    """Loss values 0 at G = C (content) and G = S (style), equal to the package's for a random G; gradients."""
    ref_model, ref_c, ref_s = _reference(C, S)
    ref_model(Gr)
    _check_targets(a, C, S, ref_c, ref_s)
    G = Gr.clone().requires_grad_(True)
    _call(_BUILD, "a forward pass of your model", a.model, G)
    _check_like_reference(a.content + a.style, ref_c + ref_s, _CONTENT_LAYERS + _STYLE_LAYERS,
                          "the loss at '{layer}' differs from the reference for a random G.",
                          hint="check that each loss layer receives the output of its own layer and that its target "
                               "was computed the same way.")
    _check_gradient(a, G, ref_model, ref_c + ref_s, Gr)


def _check_style_of_other_size(fn: Callable, C: torch.Tensor, norm: nn.Module, Gr: torch.Tensor) -> None:
    """A style image of another size than the content image (the usual case)."""
    S2 = _small_image(20, 24, seed=24)
    result = _call_build(fn, C, S2, norm, "your build_model with a 20 x 24 style image and a 16 x 16 content image",
                         hint="C and S may differ in size. Compute S's features by passing S through the layers "
                              "on its own, not through a model that already holds content loss layers (they "
                              "compare with C's features, which have another size).")
    ref = _reference(C, S2)
    _call(_BUILD, "a forward pass of your model", result[0], Gr)
    ref[0](Gr)
    _check_like_reference(result[2], ref[2], _STYLE_LAYERS,
                          "with a style image of another size, the style loss at '{layer}' is wrong.",
                          hint="the style targets must be S's own features at each layer, whatever S's size.")


# --------------------------------------------------------------------------------------------- other layer lists

#: A second configuration: the deepest loss layer (conv3_1) is first in style_layers, not last, and relu2_1 is in
#: both lists. style_layers[-1], content_layers[-1] and max() of the names (which compares strings) all say relu2_1.
_OTHER_CONTENT = ("relu2_1",)
_OTHER_STYLE = ("conv3_1", "relu1_1", "relu2_1")
_OTHER_DEEPEST = "conv3_1"
_OTHER_SHARED = "relu2_1"
_OTHER_CALL = f"content_layers={list(_OTHER_CONTENT)}, style_layers={list(_OTHER_STYLE)}"
_VGG_TYPES = (nn.Conv2d, nn.ReLU, nn.MaxPool2d)


def _fail_trimmed_early(last: str | None, found: str, cause: BaseException | None = None):
    rules = []
    if last == _OTHER_STYLE[-1]:
        rules.append("style_layers[-1]")
    if last == _OTHER_CONTENT[-1]:
        rules.append("content_layers[-1]")
    if last == max(_OTHER_CONTENT + _OTHER_STYLE):
        rules.append("max() of the names")
    rule = (f"you trimmed after {' / '.join(rules)} = '{last}'" if rules else f"your model stops after '{last}'") \
        if last else f"you stopped adding layers before '{_OTHER_DEEPEST}'"
    _fail(_BUILD, f"with {_OTHER_CALL} the model is cut off before its deepest loss layer.",
          expected=f"the model to go on to '{_OTHER_DEEPEST}' (the deepest loss layer, first in style_layers) and "
                   "end with its loss layer",
          found=found,
          hint=f"{rule}, but the deepest loss layer is '{_OTHER_DEEPEST}'. Trim after the deepest of all loss "
               "layers, whatever list it is in and wherever it is in the list: stop once every name of both lists "
               "has had its loss layer (or take the largest position, vgg's layer order, not the largest name: "
               "max() compares strings, and 'relu2_1' > 'conv3_1').", cause=cause)


def _fail_elif(kind_found: str, found: str, cause: BaseException | None = None):
    other = "style" if kind_found == "content" else "content"
    _fail(_BUILD, f"with {_OTHER_CALL}, layer '{_OTHER_SHARED}' is in both lists but got only a {kind_found} "
                  "loss.",
          expected=f"two loss layers after '{_OTHER_SHARED}': a ContentLoss and a StyleLoss",
          found=found,
          hint=f"an `elif` where two `if`s are needed: `if name in content_layers: ... elif name in style_layers:` "
               f"never gives a layer in both lists its {other} loss. Use two separate `if` statements.",
          cause=cause)


def _loss_modules(model: nn.Sequential) -> list[tuple[nn.Module, str]]:
    """(module, the VGG layer it follows) for every child that is neither the first module nor a VGG layer."""
    out, k = [], 0
    for i, m in enumerate(model.children()):
        if i == 0 or isinstance(m, _VGG_TYPES):
            k += 1
        else:
            out.append((m, LAYER_NAMES[k - 2] if 2 <= k <= len(LAYER_NAMES) + 1 else "?"))
    return out


def _last_vgg_layer(model: nn.Sequential) -> str | None:
    n = sum(1 for i, m in enumerate(model.children()) if i > 0 and isinstance(m, _VGG_TYPES))
    return LAYER_NAMES[n - 1] if 0 < n <= len(LAYER_NAMES) else None


def _check_other_layers(fn: Callable) -> None:
    """The deepest loss layer not last in its list, and a layer in both lists: trimmed right, two losses there.

    32 x 32 images, so that even a model that is not trimmed at all runs through all five poolings.
    """
    C, S, Gr = (_small_image(32, 32, seed=seed) for seed in (25, 26, 27))
    try:
        result = _call(_BUILD, f"your build_model with {_OTHER_CALL}", fn, C, S, list(_OTHER_CONTENT),
                       list(_OTHER_STYLE), vgg=tiny_vgg(inplace=True), normalization=Normalization("caffe"))
    except NotImplementedYet:
        raise
    except CheckFailed as err:
        cause = err.__cause__
        if isinstance(cause, (KeyError, IndexError, ValueError, StopIteration)):
            text = str(cause)
            if _OTHER_DEEPEST in text:
                _fail_trimmed_early(None, f"{type(cause).__name__}: {cause} (no loss layer was made for "
                                          f"'{_OTHER_DEEPEST}')", cause)
            if _OTHER_SHARED in text:
                kind = "content" if "style" in text else "style" if "content" in text else "content"
                _fail_elif(kind, f"{type(cause).__name__}: {cause}", cause)
        raise
    if not isinstance(result, tuple) or len(result) != 3 or not isinstance(result[0], nn.Sequential):
        _check_returns_three(result)
    model, c_losses, s_losses = result
    last = _last_vgg_layer(model)
    if last is not None and LAYER_NAMES.index(last) < LAYER_NAMES.index(_OTHER_DEEPEST):
        _fail_trimmed_early(last, f"a model that ends after '{last}'")
    shared = [m for m, after in _loss_modules(model) if after == _OTHER_SHARED]
    if len(shared) == 1:
        ids_c = {id(m) for m in c_losses} if isinstance(c_losses, (list, tuple)) else set()
        kind = "content" if id(shared[0]) in ids_c else "style"
        _fail_elif(kind, f"one loss layer after '{_OTHER_SHARED}' ({type(shared[0]).__name__})")
    for got, want, what in ((c_losses, _OTHER_CONTENT, "content"), (s_losses, _OTHER_STYLE, "style")):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            _fail(_BUILD, f"with {_OTHER_CALL}, wrong number of {what} loss layers returned.",
                  expected=f"a list of {len(want)} ({', '.join(want)}), in the order of {what}_layers",
                  found=f"{type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}",
                  hint=f"one loss layer per name in {what}_layers, listed in that order (not in the order of the "
                       "network).")
    if last is not None and LAYER_NAMES.index(last) > LAYER_NAMES.index(_OTHER_DEEPEST):
        _fail(_BUILD, f"with {_OTHER_CALL} the model is not trimmed after its deepest loss layer.",
              expected=f"the model to end with the loss layer after '{_OTHER_DEEPEST}'",
              found=f"a model that goes on to '{last}'",
              hint="stop once every name of both lists has had its loss layer: the deepest one need not be "
                   "the last name of a list.")
    ref = build_model(C, S, list(_OTHER_CONTENT), list(_OTHER_STYLE), vgg=tiny_vgg(inplace=False),
                      normalization=Normalization("caffe"))
    _call(_BUILD, f"a forward pass of your model built with {_OTHER_CALL}", model, Gr)
    ref[0](Gr)
    _check_like_reference(list(c_losses) + list(s_losses), ref[1] + ref[2], _OTHER_CONTENT + _OTHER_STYLE,
                          f"with {_OTHER_CALL}, the loss at '{{layer}}' differs from the reference.",
                          hint="each list must hold the loss layers in the order of its names (style_losses[0] is "
                               f"the one after '{_OTHER_STYLE[0]}'), and a layer in both lists needs both losses.")


# --------------------------------------------------------------------------------------------- the check


def check_build_model(fn: Callable) -> None:
    """Check a student's ``build_model(content, style, content_layers, style_layers, *, vgg, normalization)``.

    The signature is that of :func:`nst_helpers.model.build_model` (and of notebook 03's). It must return
    ``(model, content_losses, style_losses)``: an ``nn.Sequential``
    of the normalization, the VGG layers up to the last loss layer, and a loss
    layer right after each chosen layer, with no in-place ReLU that overwrites a
    tensor a loss layer keeps. The check uses a tiny VGG-shaped network with
    in-place ReLUs, loss layers after convolutions (where in-place ReLUs do harm),
    and compares the losses and gradients with :func:`nst_helpers.model.build_model`.
    A function with the old order ``build_model(vgg, normalization, content, ...)`` is told the new one.
    """
    _require_callable(_BUILD, fn, f"a function {_SIGNATURE}")
    _check_signature(fn)
    C = _small_image(16, 16, seed=21)
    S = _small_image(16, 16, seed=22)
    norm = Normalization("caffe")
    with _small_work():
        a = _check_returns_three(_call_build(fn, C, S, norm, "your build_model"))
        _check_losses_in_model(a)
        _check_in_place_relu(a)
        _check_positions(a)
        _check_trimmed(a)
        _check_normalization_first(a, C, norm)
        Gr = _small_image(16, 16, seed=23)
        _check_losses(a, C, S, Gr)
        _check_style_of_other_size(fn, C, norm, Gr)
        _check_other_layers(fn)
    _passed(_BUILD, "normalization first, loss layers in place, trimmed, no harmful in-place ReLU, correct "
                    "targets (also for a style image of another size), losses and gradients, a layer in both "
                    "lists, the deepest loss layer first in its list",
            "The model is ready to be optimised.")
