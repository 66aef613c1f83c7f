"""Images as tensors: load, resize, save and show.

Every image inside the package is a float tensor of shape ``1 x 3 x H x W``
(batch, RGB channels, height, width) with values in ``[0, 1]``. This module
turns whatever a user has (a path, a PIL image, a NumPy array, a tensor) into
that form, and back into a file or a picture.

How image modes are converted (documented and tested):

===================  ==========================================================
input                becomes
===================  ==========================================================
RGB                  as is
grayscale (L, 1)     the gray value copied into R, G and B
16-bit (I;16, I)     scaled by 1/65535, keeping its full tonal range (values
                     outside 0..65535 are refused)
32-bit float (F)     as a float32 array: values in [0, 1], else refused
palette (P, PA)      its colours looked up (transparency as for RGBA)
RGBA, LA             composited onto a white background (transparent -> white)
CMYK, YCbCr, LAB     converted to RGB by Pillow
animated GIF / APNG  the first frame
EXIF orientation     applied, so a phone photo comes out upright
===================  ==========================================================

Arrays and tensors follow one rule, by dtype (never by the values they hold), the same
rule as Pillow's modes above (8-bit modes are uint8, I;16 is uint16, F is float32):

=====================================  ==============================================
dtype (NumPy array or torch tensor)    becomes
=====================================  ==============================================
uint8                                  divided by 255
uint16                                 divided by 65535
bool                                   False -> 0, True -> 1
float16, bfloat16, float32, float64    as is; values must lie in [0, 1] (NaN, inf or
                                       values outside are refused, saying what to do)
other integers (int8 ... int64,        refused: convert to uint8 (0..255) or uint16
uint32, uint64), complex, objects      (0..65535), or to floats in [0, 1]
=====================================  ==============================================
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from .errors import ImageLoadError, ParameterError, ResourceError
from .files import check_fits_format, check_output, write_atomically
from .runtime import is_out_of_memory

__all__ = [
    "ImageSource",
    "IMAGES_DIR",
    "load_image",
    "to_pil",
    "save_image",
    "show",
    "resize_to",
    "bundled_images",
    "bundled_image",
]

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray | torch.Tensor

#: The repository's ``images/`` folder (bundled content photos and style images).
IMAGES_DIR = Path(__file__).resolve().parent.parent / "images"

#: Largest long side accepted by :func:`load_image` without ``size`` (pixels).
MAX_SIDE = 8192


# --------------------------------------------------------------------------- loading
def _describe(src: object) -> str:
    if isinstance(src, (str, os.PathLike)):
        return f"'{os.fspath(src)}'"
    return f"the {type(src).__name__} you passed"


def _open_path(path: Path, size: int | None) -> Image.Image:
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a loop of links, ...
        raise ImageLoadError(f"Cannot look at '{str(path)[:80]}': {exc.strerror}. Check the path.") from None
    if not path.exists():
        raise ImageLoadError(
            f"No image at '{path}': the file does not exist. Check the path "
            f"(relative paths start from {Path.cwd()}), or pick a bundled image "
            "with nst_helpers.bundled_images()."
        )
    if path.is_dir():
        raise ImageLoadError(f"'{path}' is a folder, not an image file. Name one file inside it.")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"'{path}' is empty (0 bytes): the file was not saved or copied fully.")
    return _decode(path, f"'{path}'", size)


def _open_bytes(data: bytes, size: int | None) -> Image.Image:
    if not data:
        raise ImageLoadError("The file is empty (0 bytes): it was not saved, copied or uploaded fully.")
    return _decode(io.BytesIO(data), "the file", size)


def _decode(source: Path | io.BytesIO, name: str, size: int | None) -> Image.Image:
    """Open and decode an image file (a path or bytes); every failure becomes an ImageLoadError that says why."""
    try:
        with warnings.catch_warnings():
            # A file over Pillow's pixel limit is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source)
            if size is not None and img.format == "JPEG":
                # Decode a huge JPEG at a reduced scale straight away (fast, little memory).
                img.draft("RGB", (2 * size, 2 * size))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(
            f"{name} is too large to decode safely ({exc}). Shrink it first with an image "
            "editor, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file."
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageLoadError(_unreadable(source, name)) from None
    except PermissionError:
        raise ImageLoadError(f"{name} cannot be read: permission denied. Check who may read it (ls -l), or "
                             "copy it to a folder of yours.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(
            f"{name} could not be decoded: {exc}. The file is probably truncated or "
            "corrupt; download or export it again."
        ) from None
    return img


_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def _unreadable(source: Path | io.BytesIO, name: str) -> str:
    """Why Pillow could not identify a file: a format we recognise by its first bytes, else a guess."""
    head = b""
    if isinstance(source, io.BytesIO):
        head = source.getvalue()[:16]
    else:
        with contextlib.suppress(OSError), open(source, "rb") as fh:
            head = fh.read(16)
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return (f"{name} is a HEIC/HEIF image (the format of phone photos), which Pillow cannot read by itself. "
                "Install the plugin (pip install pillow-heif) and run `import pillow_heif; "
                "pillow_heif.register_heif_opener()` first, or convert it to JPEG or PNG.")
    if head[:4] in _TIFF_MAGIC:
        return (f"{name} is a TIFF file of a kind Pillow cannot decode (floating-point RGB, for example). Convert "
                "it to an 8- or 16-bit TIFF or a PNG, or read it yourself (e.g. with tifffile) and pass the array.")
    return (f"{name} is not an image Pillow can read (is it a PDF, a text file or a renamed file?). Save it as "
            "PNG or JPEG and try again.")


def _pil_to_array(img: Image.Image, name: str) -> np.ndarray:
    """PIL image of any mode -> float32 array H x W x 3 in [0, 1]."""
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)  # animated GIF / APNG / multi-page TIFF: the first frame
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not stop the image from loading
        pass
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img.convert("I"), dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageLoadError(f"{name} is a 32-bit integer image with values in [{arr.min()}, {arr.max()}]; "
                                 "the loader reads integer images as 16-bit (0..65535). Save it as 16-bit or 8-bit.")
        return np.repeat(_to_unit(arr.astype(np.uint16), name)[..., None], 3, axis=2)
    if mode == "F":
        return np.repeat(_to_unit(np.asarray(img, dtype=np.float32), name)[..., None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode != "RGB":
        try:
            img = img.convert("RGB")
        except (ValueError, OSError) as exc:
            raise ImageLoadError(
                f"Cannot convert {name} from mode {mode!r} to RGB ({exc}). Save it as an "
                "8-bit RGB PNG or JPEG."
            ) from None
    return np.asarray(img, dtype=np.float32) / 255.0


def _to_unit(arr: np.ndarray, name: str) -> np.ndarray:
    """Values -> float32 in [0, 1] by the dtype rule of the module docstring (the same for every input type)."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype in (np.uint8, np.uint16):
        return arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    if np.issubdtype(arr.dtype, np.integer):
        raise ImageLoadError(f"{name} holds {arr.dtype} values; integer images must be uint8 (0..255) or uint16 "
                             "(0..65535). Convert it, e.g. with .astype(np.uint8) if it holds 0..255 values.")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ImageLoadError(f"Unsupported dtype {arr.dtype} in {name}; use uint8, uint16 or floats in [0, 1].")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ImageLoadError(f"{name} contains NaN or infinite values; an image needs finite pixels.")
    low, high = float(arr.min(initial=0)), float(arr.max(initial=0))
    if low < -1e-3 or high > 1 + 1e-3:
        hint = ("If it was normalised (e.g. with ImageNet's mean and std), undo that first: x * std + mean."
                if low < -1e-3 else "Divide by 255 if it holds 0..255 values (by 65535 for 0..65535).")
        raise ImageLoadError(f"A float image must have values in [0, 1]; {name} has values in "
                             f"[{low:.3g}, {high:.3g}]. {hint}")
    return arr.clip(0, 1)


def _array_to_hwc(arr: np.ndarray, name: str) -> np.ndarray:
    """A NumPy array (H x W, H x W x C or C x H x W) -> float32 H x W x 3 in [0, 1]."""
    arr = np.asarray(arr)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[2] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # C x H x W -> H x W x C
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageLoadError(
            f"Expected an image array of shape H x W, H x W x 3 or H x W x 4, got shape "
            f"{tuple(arr.shape)} from {name}."
        )
    if 0 in arr.shape[:2]:
        raise ImageLoadError(f"{name} has no pixels (shape {tuple(arr.shape)}); an image needs at least 1 x 1.")
    arr = _to_unit(arr, name)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        alpha = arr[..., 3:4]
        arr = arr[..., :3] * alpha + (1.0 - alpha)  # composite onto white
    return arr.clip(0, 1)


def _tensor_to_hwc(src: torch.Tensor, name: str) -> np.ndarray:
    """A ``3 x H x W`` or ``1 x 3 x H x W`` tensor -> float32 H x W x 3 in [0, 1], by the same dtype rule as arrays."""
    t = src.detach().cpu()
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[:2] != (1, 3):
        raise ImageLoadError(f"Expected a tensor of shape 3 x H x W or 1 x 3 x H x W, got {tuple(src.shape)}.")
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()  # NumPy has no bfloat16
    return _array_to_hwc(t[0].permute(1, 2, 0).numpy(), name)


def _loaded(img: Image.Image, name: str) -> Image.Image:
    """A PIL image passed in, with its pixels read: a closed or truncated one gives an ImageLoadError."""
    try:
        img.load()
    except (OSError, ValueError, AttributeError) as exc:
        raise ImageLoadError(f"Cannot read the pixels of {name} ({exc}): it was closed, or its file is truncated. "
                             "Open it again (Image.open(path)) and pass it before closing it.") from None
    return img


def resize_to(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a ``1 x 3 x H x W`` image to ``size = (height, width)`` pixels.

    Uses antialiased bicubic interpolation and clips the result to [0, 1].
    """
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    h, w = size
    too_large = (f"Resizing to {w} x {h} pixels needs {3 * 4 * h * w / 1e9:.1f} GB for the image alone, and "
                 "many times that for VGG19")
    if h * w > MAX_SIDE * MAX_SIDE:
        raise ResourceError(f"{too_large}; the limit is {MAX_SIDE} x {MAX_SIDE} pixels. Use a smaller size "
                            "(size= / --size) or style_scale (--style-scale).")
    try:
        out = F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=True)
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise ResourceError(f"Out of memory: {too_large}. Use a smaller size (size= / --size).") from None
    return out.clamp_(0.0, 1.0)


def _long_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def check_long_side(size) -> int:
    """``size`` as an int if it is a positive whole number of pixels (a long side), else a ParameterError."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ParameterError(f"size must be a positive whole number of pixels (the long side), got {size!r}.")
    return int(size)


def load_image(src: ImageSource, size: int | None = None, *, max_size: int | None = None,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """Load an image as a float tensor ``1 x 3 x H x W`` with values in [0, 1].

    Parameters
    ----------
    src
        A file path, the bytes of an image file (an upload), a PIL image, a NumPy array (``H x W``, ``H x W x 3`` or
        ``H x W x 4``; uint8 in 0..255, uint16 in 0..65535 or float in [0, 1])
        or a tensor (``3 x H x W`` or ``1 x 3 x H x W`` in [0, 1]).
    size
        If given, the image is resized so that its *long* side is ``size``
        pixels; the aspect ratio is kept. ``None`` keeps the original size.
    max_size
        If given (and ``size`` is not), only a larger image is shrunk to this long side.
    device
        Where the returned tensor lives.

    Returns
    -------
    torch.Tensor
        Shape ``1 x 3 x H x W``, dtype float32, values in [0, 1].

    Raises
    ------
    ImageLoadError
        For a missing, empty, truncated or non-image file, or an unusable array.
    ParameterError
        For ``size <= 0``.
    """
    if size is not None:
        size = check_long_side(size)
    if max_size is not None:
        max_size = check_long_side(max_size)
    name = _describe(src)
    if isinstance(src, torch.Tensor):
        arr = _tensor_to_hwc(src, name)
    else:
        if isinstance(src, (str, os.PathLike)):
            img = _open_path(Path(src).expanduser(), size or max_size)
            arr = _pil_to_array(img, name)
        elif isinstance(src, (bytes, bytearray, memoryview)):
            arr = _pil_to_array(_open_bytes(bytes(src), size or max_size), name)
        elif isinstance(src, Image.Image):
            arr = _pil_to_array(_loaded(src, name), name)
        elif isinstance(src, np.ndarray):
            arr = _array_to_hwc(src, name)
        else:
            raise ImageLoadError(
                f"Cannot load an image from a {type(src).__name__}; pass a file path, the bytes of an "
                "image file, a PIL image, a NumPy array or a tensor."
            )
    # every path above applied the dtype rule (_to_unit refuses NaN and inf), so the values are finite
    tensor = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).unsqueeze(0).clamp(0.0, 1.0)
    h, w = tensor.shape[-2:]
    if size is None and max_size is not None and max(h, w) > max_size:
        size = max_size
    if size is not None:
        tensor = resize_to(tensor, _long_side_size(h, w, size))
    elif max(h, w) > MAX_SIDE:
        raise ImageLoadError(
            f"{name} is {w} x {h} pixels, larger than {MAX_SIDE} on its long side. Pass size=... "
            "(for example size=512) to shrink it while loading."
        )
    return tensor.contiguous().to(device)


# --------------------------------------------------------------------------- saving
def to_pil(image: torch.Tensor) -> Image.Image:
    """Convert ``1 x 3 x H x W`` or ``3 x H x W`` in [0, 1] to an 8-bit RGB PIL image."""
    t = image.detach().to("cpu", torch.float32)
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ParameterError(f"to_pil takes one image, got a batch of {t.shape[0]}.")
        t = t[0]
    if t.ndim != 3 or t.shape[0] != 3:
        raise ParameterError(f"Expected an image tensor 1 x 3 x H x W, got shape {tuple(image.shape)}.")
    if not torch.isfinite(t).all():
        raise ParameterError("The image has NaN or infinite values, so it is no picture (saved, it would be black). "
                             "It comes from a failed run: see the run's warning and history.stopped.")
    arr = (t.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr, mode="RGB")


def save_image(image: torch.Tensor | ImageSource, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save an image to ``path`` (PNG, JPEG, ...; chosen by the suffix).

    The file is written atomically: first to a temporary file in the same
    folder, then moved into place, so a crash never leaves half a file. An
    existing file is never replaced unless ``overwrite=True``, and keeps its
    mode; a new one gets the mode the umask gives (see :mod:`nst_helpers.files`).

    Parameters
    ----------
    image
        ``1 x 3 x H x W`` (or ``3 x H x W``) float tensor with values in [0, 1], or anything
        :func:`load_image` takes (a NumPy array, a PIL image, ...). NaN or infinite values are refused.
    path
        Destination file; its folder must exist.
    overwrite
        Replace an existing file (default: refuse with :class:`~nst_helpers.errors.OutputExistsError`,
        a ``FileExistsError``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        The path cannot be written (no folder, a folder, read-only, ...); nothing was written.
    ParameterError
        An unknown suffix, an image the format cannot store, or a non-finite image.
    """
    path = check_output(path, overwrite=overwrite, probe=False)
    if not (isinstance(image, torch.Tensor) and image.is_floating_point()):
        image = load_image(image)  # arrays, PIL images, integer tensors: by the loader's dtype rule
    pil = to_pil(image)
    check_fits_format(path, pil.height, pil.width)
    return write_atomically(pil, path, overwrite=overwrite)


# --------------------------------------------------------------------------- showing
def show(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: str | Sequence[str] | None = None,
    *,
    height: float = 3.0,
    axes=None,
):
    """Show one image, or a row of images with titles, with matplotlib.

    Parameters
    ----------
    images
        One ``1 x 3 x H x W`` tensor or a sequence of them.
    titles
        One title per image (or a single string for one image).
    height
        Height of the figure in inches.
    axes
        Existing matplotlib axes to draw into (one per image); a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if isinstance(images, torch.Tensor):
        images = [images]
    images = list(images)
    if isinstance(titles, str):
        titles = [titles]
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ParameterError(f"Got {len(images)} images but {len(titles)} titles; give one title per image.")
    if axes is None:
        widths = [img.shape[-1] / img.shape[-2] for img in images]
        fig, axes = plt.subplots(1, len(images), figsize=(height * sum(widths) + 0.2, height + 0.4),
                                 gridspec_kw={"width_ratios": widths}, squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    for ax, img, title in zip(axes, images, titles):
        ax.imshow(to_pil(img))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- bundled images
def bundled_images(kind: str | None = None) -> dict[str, Path]:
    """The images shipped in the repository's ``images/`` folder.

    Parameters
    ----------
    kind
        ``"content"``, ``"style"`` or ``None`` for both (keys then are
        ``"content/<name>"`` and ``"style/<name>"``).

    Returns
    -------
    dict
        Name (file stem) -> path, sorted by name.
    """
    kinds = ("content", "style") if kind is None else (kind,)
    if any(k not in ("content", "style") for k in kinds):
        raise ParameterError(f"kind must be 'content', 'style' or None, got {kind!r}.")
    if not IMAGES_DIR.is_dir():
        raise ImageLoadError(
            f"The bundled images folder {IMAGES_DIR} is missing. It ships with the repository: "
            "install the package from a clone with `pip install -e .`."
        )
    found: dict[str, Path] = {}
    for k in kinds:
        for p in sorted((IMAGES_DIR / k).glob("*")):
            if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
                found[p.stem if kind else f"{k}/{p.stem}"] = p
    return found


def bundled_image(name: str, kind: str = "content") -> Path:
    """Path of one bundled image, e.g. ``bundled_image("swirls", "style")``."""
    options = bundled_images(kind)
    if name not in options:
        raise ImageLoadError(f"No bundled {kind} image named {name!r}; choose one of {sorted(options)}.")
    return options[name]
