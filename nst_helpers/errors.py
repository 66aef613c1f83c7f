"""The package's own error types.

Every error a user can cause (a bad file, a wrong layer name, an impossible
weight) is raised early as one of these, with a message that says what was
expected, what was found, and what to do. Each also subclasses the matching
built-in exception (``ValueError``, ``KeyError``, ``RuntimeError``, ``MemoryError``
or ``OSError``), so ``except ValueError`` and the like keep working.

============================  =====================================================
error                         raised for
============================  =====================================================
:class:`NSTError`             base class of all errors below
:class:`ImageLoadError`       a file that is missing, empty, truncated, not an
                              image, too large to decode, or an unsupported array
:class:`ImageTooSmallError`   an image too small for the deepest chosen layer
:class:`LayerNameError`       an unknown VGG19 layer name (the message lists the
                              valid ones)
:class:`ParameterError`       an impossible parameter: negative / NaN weight,
                              ``steps < 1``, unknown init, optimiser or device
:class:`WeightsError`         VGG19 weights that cannot be found or loaded
:class:`ResourceError`        out of memory (GPU or CPU) for the chosen image size
:class:`OutputError`          an output path that cannot be written (no folder, a
                              folder, an input file, read-only, name too long)
:class:`OutputExistsError`    an output file that exists (``overwrite=False``)
:class:`DownloadError`        an optional download that cannot happen: no network,
                              a file that fails its pinned hash, or the optional
                              downloader (``pooch``) not installed
============================  =====================================================
"""

from __future__ import annotations

__all__ = [
    "NSTError",
    "ImageLoadError",
    "ImageTooSmallError",
    "LayerNameError",
    "ParameterError",
    "WeightsError",
    "ResourceError",
    "OutputError",
    "OutputExistsError",
    "DownloadError",
]


class NSTError(Exception):
    """Base class of every error raised on purpose by :mod:`nst_helpers`."""


class ImageLoadError(NSTError, ValueError):
    """An image could not be read or converted; the message names the file."""


class ImageTooSmallError(NSTError, ValueError):
    """An image is too small for the chosen layers; the message gives the minimum."""


class LayerNameError(NSTError, KeyError):
    """An unknown layer name; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ParameterError(NSTError, ValueError):
    """A parameter outside its allowed range or set of values."""


class WeightsError(NSTError, RuntimeError):
    """VGG19 weights that cannot be found, downloaded or loaded."""


class ResourceError(NSTError, MemoryError):
    """Out of memory for the chosen size; the message suggests a smaller one."""


class OutputError(NSTError, OSError):
    """An output path that cannot be written; raised before any work, the message says why and what to do."""


class OutputExistsError(OutputError, FileExistsError):
    """The output file exists and ``overwrite`` was not asked for; the file is left untouched."""


class DownloadError(NSTError, OSError):
    """An optional download failed or cannot start; the message says why and how to do without it."""
