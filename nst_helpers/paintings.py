"""The classic paintings of style-transfer papers, downloaded on request and checked by their SHA-256.

Nothing in the course needs them: the lectures use the bundled images (:func:`~nst_helpers.images.bundled_image`)
and work offline. Online, these give the pictures everyone knows::

    from nst_helpers import load_image
    from nst_helpers.paintings import available_paintings, fetch_painting

    available_paintings()                              # {"starry_night": "Vincent van Gogh, ...", ...}
    S = load_image(fetch_painting("the_scream"), size=256)

Each file is pinned twice: by the commit in its URL and by the SHA-256 of its bytes, so a changed or
corrupted download is refused, never used. Downloads go to the user's cache folder (pooch's
``os_cache("nst-helpers")``, or ``$NST_PAINTINGS_DIR``) and happen once; later calls only check the hash.

The optional downloader ``pooch`` comes with ``pip install "nst-helpers[fetch]"``. Every failure is a
:class:`~nst_helpers.errors.DownloadError` (an unknown name a :class:`~nst_helpers.errors.ParameterError`),
raised before anything is fetched when the name or pooch is the problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import DownloadError, ParameterError

__all__ = ["CACHE_ENV", "PAINTINGS", "Painting", "available_paintings", "cache_folder", "fetch_painting"]

#: Environment variable that moves the download folder (default: pooch's per-user cache).
CACHE_ENV = "NST_PAINTINGS_DIR"
#: Seconds a connection may stay silent before the download gives up.
TIMEOUT_S = 30
_PINNED = "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs"


@dataclass(frozen=True)
class Painting:
    """One downloadable picture: where it comes from, the SHA-256 of its exact bytes, and its credit."""

    url: str
    sha256: str
    credit: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


#: The pictures :func:`fetch_painting` offers (public copies from jcjohnson/neural-style, pinned by commit).
PAINTINGS: dict[str, Painting] = {
    "starry_night": Painting(f"{_PINNED}/starry_night.jpg",
                             "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098",
                             "Vincent van Gogh, The Starry Night, 1889, public domain"),
    "the_scream": Painting(f"{_PINNED}/the_scream.jpg",
                           "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
                           "Edvard Munch, The Scream, 1893, public domain"),
    "shipwreck": Painting(f"{_PINNED}/shipwreck.jpg",
                          "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213",
                          "J. M. W. Turner, The Shipwreck of the Minotaur, c. 1810, public domain"),
    "tubingen": Painting(f"{_PINNED}/tubingen.jpg",
                         "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506",
                         "Andreas Praefcke, Neckarfront Tuebingen, CC BY 3.0"),
}


def available_paintings() -> dict[str, str]:
    """Name -> credit of every picture :func:`fetch_painting` can download (show the credit with the picture)."""
    return {name: p.credit for name, p in sorted(PAINTINGS.items())}


def _pooch():
    try:
        import pooch
    except ImportError:
        raise DownloadError('Downloading the classic paintings needs the optional package pooch: '
                            'pip install "nst-helpers[fetch]". The bundled images need nothing: '
                            'bundled_image("starry_night", "style").') from None
    return pooch


def cache_folder() -> Path:
    """Where downloads are kept: ``$NST_PAINTINGS_DIR`` if set, else pooch's per-user cache for nst-helpers."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else Path(_pooch().os_cache("nst-helpers"))


def fetch_painting(name: str, *, folder: str | os.PathLike | None = None, progress: bool = False) -> Path:
    """The local path of the painting ``name`` (see :func:`available_paintings`), downloaded once.

    Parameters
    ----------
    name
        A key of :data:`PAINTINGS`, e.g. ``"the_scream"``.
    folder
        Where to keep the file (default: :func:`cache_folder`).
    progress
        Show a download progress bar (needs tqdm, which the package installs).

    Raises
    ------
    ParameterError
        ``name`` is not offered (the message lists the names); nothing is fetched.
    DownloadError
        pooch is not installed (nothing is fetched), there is no connection, the server refuses, or
        the bytes do not have the pinned SHA-256 (the file is then not kept).
    """
    if not isinstance(name, str) or name not in PAINTINGS:
        raise ParameterError(f"No painting named {name!r} to download; choose one of {sorted(PAINTINGS)} "
                             "(or use a bundled image: bundled_images('style')).")
    painting = PAINTINGS[name]
    pooch = _pooch()
    where = Path(folder).expanduser() if folder is not None else cache_folder()
    try:
        path = pooch.retrieve(painting.url, known_hash=f"sha256:{painting.sha256}", fname=painting.filename,
                              path=where, downloader=pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_S))
    except ValueError as exc:  # pooch's hash check
        if "hash" not in str(exc).lower():
            raise
        raise DownloadError(f"The download of {name!r} from {painting.url} does not have the pinned SHA-256 "
                            f"{painting.sha256}: it was changed or corrupted on the way, so it was not kept. "
                            "Try again later, or use another picture.") from exc
    except OSError as exc:  # requests' connection errors and HTTP errors are OSErrors too
        raise DownloadError(f"Could not download {name!r} from {painting.url} ({type(exc).__name__}): are you "
                            "offline, or behind a proxy? Nothing in the course needs it; offline, use a bundled "
                            "image instead, e.g. bundled_image('starry_night', 'style').") from exc
    return Path(path)
