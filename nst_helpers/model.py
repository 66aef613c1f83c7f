"""Model assembly: Normalization, VGG19 layers and loss layers in one ``nn.Sequential``.

``build_model`` returns a model like this (default layers)::

    normalization  -> conv1_1 -> relu1_1 -> style_relu1_1 -> conv1_2 -> relu1_2 -> pool1
                   -> conv2_1 -> relu2_1 -> style_relu2_1 -> ...
                   -> conv4_1 -> relu4_1 -> style_relu4_1 -> conv4_2 -> relu4_2 -> content_relu4_2
                   -> ... -> conv5_1 -> relu5_1 -> style_relu5_1          (the rest of VGG19 is cut off)

A forward pass of G through it fills ``self.loss`` of every loss layer; the
output itself is not used.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .errors import ImageTooSmallError, ParameterError
from .guided import BlendedStyleLoss, GuidedStyleLoss, check_masks
from .losses import ContentLoss, StyleLoss
from .vgg import LAYER_NAMES, check_layer_names, downsampling, layer_index, load_vgg19, weights_normalization

__all__ = [
    "CAFFE_MEAN_BGR",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NORMALIZATIONS",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
    "Normalization",
    "build_model",
    "extract_features",
    "min_image_side",
]

#: Mean pixel of the Caffe VGG training set, in B, G, R order, on a 0..255 scale.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: ImageNet mean and std (RGB, [0, 1] scale) used by torchvision's weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The two input preprocessings of :class:`Normalization`.
NORMALIZATIONS = ("caffe", "torchvision")

#: The paper's content layer ("conv4_2" in Caffe = after its in-place ReLU).
DEFAULT_CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)
#: The paper's style layers ("conv1_1" ... "conv5_1" in Caffe = after their ReLUs).
DEFAULT_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


class Normalization(nn.Module):
    """Turn an RGB image in [0, 1] into the input the VGG19 weights were trained on.

    Parameters
    ----------
    kind
        ``"caffe"`` (default weights): reorder RGB -> BGR, scale to 0..255 and
        subtract the BGR mean pixel :data:`CAFFE_MEAN_BGR` (no division by a std).
        ``"torchvision"``: subtract :data:`IMAGENET_MEAN` and divide by
        :data:`IMAGENET_STD`, channel by channel, in RGB.

    Forward: ``1 x 3 x H x W`` RGB in [0, 1] -> ``1 x 3 x H x W`` normalised
    (caffe: roughly -124..152; torchvision: roughly -2.1..2.6).
    """

    def __init__(self, kind: str = "caffe") -> None:
        super().__init__()
        if kind == "caffe":
            scale = torch.full((3,), 255.0)
            mean = torch.tensor(CAFFE_MEAN_BGR)
            order = [2, 1, 0]
        elif kind == "torchvision":
            scale = 1.0 / torch.tensor(IMAGENET_STD)
            mean = torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)
            order = [0, 1, 2]
        else:
            raise ParameterError(f"Normalization kind must be 'caffe' or 'torchvision', got {kind!r}.")
        self.kind = kind
        self.order = order
        # out[c] = x[order[c]] * scale[c] - mean[c]
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("mean", mean.view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.order != [0, 1, 2]:
            image = image[:, self.order]
        return image * self.scale - self.mean

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def min_image_side(layers: Sequence[str]) -> int:
    """Smallest image side (pixels) for which every layer's feature maps are at least 2 x 2."""
    return max((2 * downsampling(n) for n in layers), default=1)


def _as_list(layers, role: str) -> list[str]:
    if layers is None:
        return []
    names = check_layer_names(layers, role)
    if len(set(names)) != len(names):
        raise ParameterError(f"The {role}s {names} name a layer twice; list each layer once.")
    return names


def _check_size(image: torch.Tensor, layers: Sequence[str], what: str) -> None:
    need = min_image_side(layers)
    h, w = image.shape[-2:]
    if min(h, w) < need:
        deepest = max(layers, key=downsampling)
        raise ImageTooSmallError(
            f"The {what} image is {w} x {h} pixels, too small for layer {deepest!r}: its feature maps "
            f"are {downsampling(deepest)} times smaller than the image. Use an image whose short side is "
            f"at least {need} pixels (a larger size=...), or shallower layers."
        )


def _check_image(image: torch.Tensor, what: str) -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[:2] != (1, 3):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ParameterError(
            f"The {what} image must be a tensor of shape 1 x 3 x H x W (use load_image), got {shape}."
        )


def extract_features(vgg: nn.Sequential, normalization: nn.Module, image: torch.Tensor,
                     layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Feature maps of ``image`` at the named layers, computed once without autograd.

    Returns a dict layer name -> ``1 x N x H' x W'`` tensor (detached).
    """
    wanted = set(layers)
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        x = normalization(image)
        for name, layer in vgg.named_children():
            if len(out) == len(wanted):
                break
            x = layer(x)
            if name in wanted:
                out[name] = x.detach().clone()
    return out


def build_model(
    content: torch.Tensor,
    style: torch.Tensor | Sequence[torch.Tensor],
    content_layers: Sequence[str] | None = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | None = DEFAULT_STYLE_LAYERS,
    *,
    vgg: nn.Sequential | None = None,
    normalization: str | nn.Module | None = None,
    weights: str | os.PathLike = "caffe",
    pooling: str = "max",
    style_blend: Sequence[float] | None = None,
    style_masks: Sequence[torch.Tensor] | None = None,
) -> tuple[nn.Sequential, list[ContentLoss], list[nn.Module]]:
    """Assemble the NST model: Normalization, VGG19 layers, loss layers after the chosen layers.

    ``build_model(C, S, content_layers, style_layers, vgg=..., normalization=...)`` is the shape of
    the function notebook 03 and the homework write; the keywords after it are the package's extras.

    Parameters
    ----------
    content
        C, ``1 x 3 x H x W`` in [0, 1]. Content targets are its feature maps.
    style
        S, ``1 x 3 x H_s x W_s`` in [0, 1] (any size), or a list of style images
        blended by ``style_blend``. Style targets are their Gram matrices.
    content_layers, style_layers
        Layer names (see :data:`nst_helpers.vgg.LAYER_NAMES`). One layer may
        carry both a content and a style loss (content loss first).
    vgg
        An already loaded feature stack from :func:`load_vgg19` (saves loading
        the weights again); its layers are reused, not copied. Default: ``load_vgg19(weights, pooling=pooling)``.
    normalization
        A :class:`Normalization` (or any module) to put first, or its kind ``"caffe"`` /
        ``"torchvision"``; default: the one that belongs to ``weights``.
    weights, pooling
        VGG19 weights (``"caffe"``, ``"torchvision"`` or a path) and pooling, used when ``vgg`` is None.
    style_blend
        Weights of several style images (default: equal): a :class:`~nst_helpers.guided.BlendedStyleLoss`.
    style_masks
        Spatial control: one ``1 x 1 x H x W`` mask (values in [0, 1], any
        resolution) per style image, saying where in G that style applies
        (a :class:`~nst_helpers.guided.GuidedStyleLoss`). Default: everywhere.

    Returns
    -------
    model : nn.Sequential
        ``normalization``, then the VGG19 layers up to the deepest loss layer,
        each loss layer (``content_<layer>``, ``style_<layer>``) right after its layer.
    content_losses, style_losses : list
        The inserted :class:`ContentLoss` and style loss modules, in
        the order of ``content_layers`` and ``style_layers``.
    """
    c_layers = _as_list(content_layers, "content layer")
    s_layers = _as_list(style_layers, "style layer")
    if not c_layers and not s_layers:
        raise ParameterError("Choose at least one content layer or one style layer.")
    styles = _check_images(content, style, c_layers, s_layers)
    masks = None if style_masks is None else [m.to(content.device) for m in check_masks(style_masks, len(styles))]
    last = max(c_layers + s_layers, key=layer_index)
    if vgg is None:
        vgg = load_vgg19(weights, pooling=pooling, last_layer=last)
    vgg = vgg.to(content.device)
    norm = normalization if isinstance(normalization, nn.Module) else \
        Normalization(normalization or weights_normalization(weights))
    norm = norm.to(content.device)

    c_feats = extract_features(vgg, norm, content, c_layers)
    s_feats = [extract_features(vgg, norm, s.to(content.device), s_layers) for s in styles]

    def style_loss(name: str) -> nn.Module:
        feats = [f[name] for f in s_feats]
        if masks is not None:
            return GuidedStyleLoss(feats, style_blend, masks)
        if len(feats) > 1 or style_blend is not None:
            return BlendedStyleLoss(feats, style_blend)
        return StyleLoss(feats[0])

    modules: list[tuple[str, nn.Module]] = [("normalization", norm)]
    content_losses: dict[str, ContentLoss] = {}
    style_losses: dict[str, nn.Module] = {}
    for name, layer in vgg.named_children():
        if name in LAYER_NAMES:
            modules.append((name, layer))
        if name in c_layers:
            content_losses[name] = ContentLoss(c_feats[name])
            modules.append((f"content_{name}", content_losses[name]))
        if name in s_layers:
            style_losses[name] = style_loss(name)
            modules.append((f"style_{name}", style_losses[name]))
        if name == last:
            break
    model = nn.Sequential(OrderedDict(modules)).eval()
    return model, [content_losses[n] for n in c_layers], [style_losses[n] for n in s_layers]


def _check_images(content, style, c_layers: list[str], s_layers: list[str]) -> list[torch.Tensor]:
    """C and the style images checked (shape, size for the layers); returns the style images as a list."""
    _check_image(content, "content")
    styles = [style] if isinstance(style, torch.Tensor) else list(style)
    if not styles:
        raise ParameterError("Give at least one style image.")
    for s in styles:
        _check_image(s, "style")
    _check_size(content, c_layers + s_layers, "content")
    for s in styles:
        if s_layers:
            _check_size(s, s_layers, "style")
    return styles
