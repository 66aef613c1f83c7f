"""Result files, written safely: the output path checked before any work, atomic saves, a safe place for a
result that cannot be saved where it was asked for.

The rules (README, "Robustness"):

* an output that *is* an input (the content or a style file, also through a link) is refused, whatever
  ``overwrite`` / ``--force`` say: nothing a user made is destroyed;
* the folder must exist and take a new file, the suffix must name a format, the name must fit the file
  system, and a folder, a device or a broken link is not an output; all this is checked by
  :func:`check_output` before any optimisation;
* an existing file is replaced only with ``overwrite=True`` and keeps its mode; a new file gets the
  mode the umask gives (``0o644`` for the usual umask ``022``);
* a write is atomic: a short temporary name (``.nst-XXXXXXXX.tmp``) in the same folder, then a rename,
  so a failure never leaves half a file or changes an existing one;
* :func:`keep_safe` saves a result whose save failed at the end under a new name elsewhere.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from .errors import OutputError, OutputExistsError, ParameterError

__all__ = ["FORMAT_MAX_SIDE", "SAVE_FORMATS", "check_fits_format", "check_output", "image_format", "keep_safe",
           "write_atomically"]

#: Suffix -> the format Pillow writes.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
#: The largest side (pixels) a format can store.
FORMAT_MAX_SIDE = {"JPEG": 65500, "WEBP": 16383}
_TMP_PREFIX, _TMP_SUFFIX = ".nst-", ".tmp"  # a short temporary name: any name that fits, fits with it
_REASONS = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.EROFS: "the file system is read-only", errno.ENOSPC: "the disk is full",
            errno.EDQUOT: "the disk quota is used up", errno.ENAMETOOLONG: "the name is too long"}


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno, exc.strerror or str(exc))


def image_format(path: Path) -> str:
    """The format Pillow writes for ``path``'s suffix, or a ParameterError that lists the suffixes."""
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        what = "has no suffix" if not path.suffix else f"ends in '{path.suffix}', a format this package does not write"
        raise ParameterError(f"Cannot tell the image format from '{path.name}': it {what}. Use one of the suffixes "
                             f"{', '.join(sorted(SAVE_FORMATS))}, e.g. '{path.stem or 'result'}.png'.")
    return fmt


def check_fits_format(path: Path, height: int, width: int) -> None:
    """A ParameterError if the format of ``path`` cannot store a ``width x height`` image."""
    fmt = image_format(path)
    limit = FORMAT_MAX_SIDE.get(fmt)
    if limit is not None and max(height, width) > limit:
        raise ParameterError(f"'{path.name}': {fmt} stores at most {limit} pixels per side, and the image is "
                             f"{width} x {height}. Save it as PNG ('{path.stem}.png') or choose a smaller size.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_name(path: Path) -> None:
    """The name and the whole path fit the file system (checked on the strings: a stat would fail on them)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        name_max, path_max = os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    if len(os.fsencode(path.name)) > name_max:
        raise OutputError(f"The output name '{path.name[:40]}...' is {len(os.fsencode(path.name))} bytes long; this "
                          f"file system takes at most {name_max}. Choose a shorter name.")
    if len(os.fsencode(os.path.abspath(path))) >= path_max:
        raise OutputError(f"The output path is longer than this system's limit of {path_max} bytes; choose a "
                          "shorter path.")


def _check_target(path: Path, overwrite: bool) -> None:
    """The output is a file that may be written: a new name, or an existing file with ``overwrite``."""
    if path.is_symlink() and not path.exists():
        if not overwrite:
            raise OutputExistsError(f"'{path}' is a broken symbolic link (to '{os.readlink(path)}') and was left "
                                    "untouched. Remove it or choose another name; overwrite=True (--force on the "
                                    "command line) replaces the link itself.")
    elif path.exists() and not path.is_file():
        raise OutputError(f"'{path}' exists and is not a regular file (a device or a pipe); choose another name.")
    elif path.exists() and not overwrite:
        raise OutputExistsError(f"'{path}' already exists and was left untouched. Choose another name, or pass "
                                "overwrite=True (--force on the command line) to replace it.")


def _probe_folder(folder: Path) -> None:
    """Create and remove a temporary file in ``folder``: the one way to know a file can be written there."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise OutputError(f"Cannot write a file in the folder '{folder}': {_reason(exc)}. Choose a folder you can "
                          "write to.") from None
    os.close(fd)
    os.unlink(tmp)


def check_output(path: str | os.PathLike, *, overwrite: bool = False, inputs: Iterable = (),
                 probe: bool = True) -> Path:
    """``path`` as a :class:`~pathlib.Path` if an image can be saved there, else the error that says why.

    Cheap: call it before any work. ``inputs``: the files the result is made from (paths; other kinds are
    ignored); an output that is one of them is refused even with ``overwrite``. ``probe``: also create
    and remove a temporary file in the folder (finds read-only folders and file systems).
    Raises :class:`~nst_helpers.errors.OutputError`, :class:`~nst_helpers.errors.OutputExistsError`
    (a ``FileExistsError``) or :class:`~nst_helpers.errors.ParameterError` (an unknown suffix).
    """
    path = Path(path).expanduser()
    for src in inputs:
        if isinstance(src, (str, os.PathLike)) and _same_file(path, Path(src).expanduser()):
            raise OutputError(f"The output '{path}' is the input '{os.fspath(src)}': writing there would destroy it, "
                              "so it is refused even with overwrite / --force. Choose another output name.")
    _check_name(path)
    if path.is_dir():
        raise OutputError(f"'{path}' is a folder; name a file inside it, e.g. '{path / 'result.png'}'.")
    image_format(path)
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"The folder '{folder}' {what}; create it first (mkdir -p '{folder}') or choose another "
                          "output path.")
    _check_target(path, overwrite)
    if probe:
        _probe_folder(folder)
    return path


def _mode_for(path: Path) -> int:
    """File mode for ``path``: an existing file's own mode, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(pil: Image.Image, path: Path, *, overwrite: bool = False) -> Path:
    """Write ``pil`` to ``path`` through a temporary file in the same folder; OutputError on failure.

    Never replaces an existing file unless ``overwrite``; an existing file keeps its mode.
    """
    fmt = image_format(path)
    mode = _mode_for(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            pil.save(fh, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        os.chmod(tmp, mode)  # mkstemp makes 0600; a saved picture gets the usual mode
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    except OutputError:
        raise
    except (OSError, ValueError) as exc:
        reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
        raise OutputError(f"Could not write '{path}': {reason}. Nothing was written there; an existing file is "
                          "unchanged.") from exc
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def _link_new(tmp: str, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist (a hard link fails if it does: never clobbers)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"'{path}' appeared while saving and was left untouched.") from None
    except OSError:  # file systems without hard links
        if os.path.lexists(path):
            raise OutputExistsError(f"'{path}' already exists and was left untouched.") from None
        os.replace(tmp, path)


def _safe_folders(first: Path) -> list[Path]:
    folders = []
    for f in (first, Path.cwd(), Path.home(), Path(tempfile.gettempdir())):
        if f.is_dir() and all(not _same_file(f, g) for g in folders):
            folders.append(f)
    return folders


def keep_safe(pil: Image.Image, wanted: str | os.PathLike) -> Path:
    """Save a result that could not be saved at ``wanted`` as a new PNG: in its folder, else the current
    folder, the home folder or the temporary folder. Returns the path written; OutputError if none works."""
    wanted = Path(wanted).expanduser()
    stem = f"{wanted.stem[:40] or 'result'}-kept-{time.strftime('%Y%m%d-%H%M%S')}"
    errors = []
    for folder in _safe_folders(wanted.parent):
        for n in range(100):
            target = folder / (f"{stem}.png" if n == 0 else f"{stem}-{n}.png")
            try:
                return write_atomically(pil, target)
            except OutputExistsError:
                continue
            except OutputError as exc:
                errors.append(str(exc))
                break
    raise OutputError(f"The result could not be kept anywhere: {' '.join(errors)}")
