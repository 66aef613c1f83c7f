"""The optional painting downloader: pinned hashes, a cache, and clear errors; never the real network.

Downloads come from a loopback http.server started by the test. The registry is compared with the
table in ../shared/data/README.md when that file is there.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import socket
import sys
import threading
from pathlib import Path

import pytest

from nst_helpers import paintings
from nst_helpers.errors import DownloadError, NSTError, ParameterError
from nst_helpers.images import load_image

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT.parent / "shared" / "data" / "README.md"
PICTURE = ROOT / "images" / "style" / "swirls.jpg"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines in the test output
        pass


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for ``tmp_path/www``; yields its base URL and counts the requests."""
    www = tmp_path / "www"
    www.mkdir()
    hits: list[str] = []

    class Handler(_Quiet):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", www, hits
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for key in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv(key.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _serve(monkeypatch, base: str, www: Path, name: str, data: bytes, sha256: str | None = None) -> None:
    (www / f"{name}.jpg").write_bytes(data)
    pinned = paintings.Painting(f"{base}/{name}.jpg", sha256 or hashlib.sha256(data).hexdigest(), "a test picture")
    monkeypatch.setitem(paintings.PAINTINGS, name, pinned)


def test_the_right_bytes_give_a_cached_path(server, tmp_path, monkeypatch):
    base, www, hits = server
    data = PICTURE.read_bytes()
    _serve(monkeypatch, base, www, "starry_night", data)
    monkeypatch.setenv(paintings.CACHE_ENV, str(tmp_path / "cache"))
    path = paintings.fetch_painting("starry_night")
    assert path == tmp_path / "cache" / "starry_night.jpg" and path.read_bytes() == data
    assert load_image(path, size=32).shape[1] == 3
    assert paintings.fetch_painting("starry_night") == path and len(hits) == 1, "the second call must use the cache"
    other = paintings.fetch_painting("starry_night", folder=tmp_path / "elsewhere")
    assert other.parent == tmp_path / "elsewhere" and len(hits) == 2


def test_wrong_bytes_are_refused_and_not_kept(server, tmp_path, monkeypatch):
    base, www, _ = server
    _serve(monkeypatch, base, www, "the_scream", b"not the painting", sha256="0" * 64)
    with pytest.raises(DownloadError, match="pinned SHA-256") as info:
        paintings.fetch_painting("the_scream", folder=tmp_path / "cache")
    assert isinstance(info.value, NSTError) and isinstance(info.value, OSError)
    assert not (tmp_path / "cache" / "the_scream.jpg").exists()


def test_no_connection_is_a_clear_offline_error(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(paintings.PAINTINGS, "shipwreck",
                        paintings.Painting(f"http://127.0.0.1:{port}/shipwreck.jpg", "0" * 64, "x"))
    with pytest.raises(DownloadError, match="offline") as info:
        paintings.fetch_painting("shipwreck", folder=tmp_path)
    assert "bundled_image" in str(info.value)


def test_a_missing_file_on_the_server_is_a_download_error(server, tmp_path, monkeypatch):
    base, _, _ = server
    monkeypatch.setitem(paintings.PAINTINGS, "tubingen", paintings.Painting(f"{base}/gone.jpg", "0" * 64, "x"))
    with pytest.raises(DownloadError, match="Could not download 'tubingen'"):
        paintings.fetch_painting("tubingen", folder=tmp_path)


def test_unknown_names_and_a_missing_pooch_fail_before_any_download(server, tmp_path, monkeypatch):
    base, www, hits = server
    with pytest.raises(ParameterError, match="the_scream"):
        paintings.fetch_painting("mona_lisa", folder=tmp_path)
    _serve(monkeypatch, base, www, "starry_night", b"data")
    monkeypatch.setitem(sys.modules, "pooch", None)  # what `import pooch` sees when it is not installed
    with pytest.raises(DownloadError, match=re.escape('pip install "nst-helpers[fetch]"')):
        paintings.fetch_painting("starry_night", folder=tmp_path)
    assert hits == [] and not list(tmp_path.glob("*.jpg"))


def test_names_come_with_their_credits():
    names = paintings.available_paintings()
    assert list(names) == sorted(paintings.PAINTINGS)
    assert {"starry_night", "the_scream", "shipwreck", "tubingen"} <= set(names)
    assert all(credit.strip() for credit in names.values())
    for p in paintings.PAINTINGS.values():
        assert re.fullmatch(r"[0-9a-f]{64}", p.sha256)
        assert re.match(r"https://raw\.githubusercontent\.com/[\w-]+/[\w-]+/[0-9a-f]{40}/", p.url), \
            f"{p.url} must be pinned to a commit"


def test_registry_matches_the_data_table():
    if not TABLE.is_file():
        pytest.skip(f"{TABLE} is not here")
    rows = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[0-9a-f]{64}", cells[1]):
            rows[cells[0]] = paintings.Painting(url=cells[2], sha256=cells[1], credit=cells[3])
    assert rows, "no rows with a SHA-256 in the table"
    assert rows == paintings.PAINTINGS
