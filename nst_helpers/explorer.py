"""The explorer's session: one setting, runs in a background thread, a cache of finished runs, Stop and Save.

This module has no widgets (it does not import ipywidgets): :mod:`nst_helpers.widgets` draws a
session, and a script or a test can drive one directly::

    from nst_helpers.explorer import ExplorerSession
    session = ExplorerSession("grace_hopper", "swirls")
    session.update(beta=1e6)
    run = session.start(background=False)      # blocks; a cached setting returns at once
    run.status, run.history.steps, run.result.shape

The session is the one source of truth: the current :class:`Setting`, and one :class:`Run` per
setting that was started (``starting``, ``running``, ``stopping``, then ``done``, ``stopped`` or
``failed``). A view renders :meth:`ExplorerSession.run_for` of the setting it shows and keeps no
state of its own; listeners (:meth:`ExplorerSession.subscribe`) hear of every change.

How a run stays interruptible: it happens in a background thread; **Stop** only sets a flag, which
the ``callback`` of :func:`~nst_helpers.transfer.run_style_transfer` returns at its next report, and
the run ends with the best G so far. The snapshot interval ``every`` only sets how often G is
reported; it never changes what is computed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import DEFAULT_ALPHA, DEFAULT_BETA, TransferConfig, check_field
from .errors import ImageLoadError, NSTError, ParameterError
from .history import History
from .images import bundled_images, load_image, save_image
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from .transfer import run_style_transfer
from .vgg import layer_index, load_vgg19

__all__ = [
    "EXPLORER_SIZE",
    "EXPLORER_STEPS",
    "MAX_UPLOAD_MB",
    "ExplorerSession",
    "ImageSources",
    "Run",
    "Setting",
    "snapshot_every",
]

#: The explorer's preview setting: long side of G in pixels and objective evaluations per run
#: (a few seconds on a laptop CPU).
EXPLORER_SIZE = 128
EXPLORER_STEPS = 50
#: Default upload limit in MB. Jupyter's server refuses websocket messages over 10 MiB
#: (tornado's default ``websocket_max_message_size``), so a bigger file never reaches the kernel.
MAX_UPLOAD_MB = 10.0
#: Uploads are shrunk to this long side (pixels) when they are larger: enough for any run of the explorer.
UPLOAD_SIDE = 1024
#: The values a setting holds besides the two images (each checked by :func:`~nst_helpers.config.check_field`).
SETTING_FIELDS = ("alpha", "beta", "steps", "size", "init", "optimizer", "content_layers", "style_layers")


def snapshot_every(steps: int) -> int:
    """Snapshot (and preview) interval for a run of ``steps`` evaluations: every one up to 60, then about 30.

    It only sets how often G is shown; G itself is the same whatever the interval.
    """
    return max(1, min(10, steps // 30))


# --------------------------------------------------------------------------- what is run
@dataclass(frozen=True)
class Setting:
    """What the controls say: the two images (labels in :class:`ImageSources`) and the values of the objective.

    Every value is checked (and put in canonical form) by :meth:`replace`; settings that depend on
    each other (alpha and beta both 0, a loss without layers) are checked when a run starts, so a
    slider may pass through them.
    """

    content: str = "grace_hopper"
    style: str = "swirls"
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    steps: int = EXPLORER_STEPS
    size: int = EXPLORER_SIZE
    init: str = "content"
    optimizer: str = "lbfgs"
    content_layers: tuple[str, ...] = tuple(DEFAULT_CONTENT_LAYERS)
    style_layers: tuple[str, ...] = tuple(DEFAULT_STYLE_LAYERS)

    def replace(self, **changes) -> Setting:
        """A copy with some values changed; a bad value raises ParameterError."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ParameterError(f"Unknown setting(s) {sorted(unknown)}; use "
                                 f"{sorted(f.name for f in dataclasses.fields(self))}.")
        for name in SETTING_FIELDS:
            if name in changes:
                changes[name] = _canonical(name, changes[name])
        return dataclasses.replace(self, **changes)

    def values(self) -> dict:
        """The setting as a dict (images by label)."""
        return dataclasses.asdict(self)

    def config(self, **runtime) -> TransferConfig:
        """The :class:`~nst_helpers.config.TransferConfig` of this setting (ParameterError if it cannot run)."""
        values = {name: getattr(self, name) for name in SETTING_FIELDS}
        return TransferConfig(**values, **runtime)


def _canonical(name: str, value):
    value = check_field(name, value)
    if name in ("content_layers", "style_layers"):
        return tuple(sorted(value, key=layer_index))  # the order of a multiple choice does not matter
    if name == "size" and value is None:
        raise ParameterError("The explorer needs a size (the long side of G in pixels).")
    return value


@dataclass(eq=False)
class Run:
    """One run of a setting, from the click to its end; ``history`` is a consistent copy, renewed at each report."""

    key: tuple
    setting: Setting
    config: TransferConfig | None
    clicked: float
    status: str = "starting"  # starting | running | stopping | done | stopped | failed
    history: History | None = None
    result: torch.Tensor | None = None
    error: str | None = None
    exception: BaseException | None = None
    traceback: str = ""
    seconds: float = 0.0  # wall time from the click to the end, images and VGG19 included
    first_progress: float | None = None  # seconds from the click to the first report

    @property
    def steps_done(self) -> int:
        """Objective evaluations done so far (the count every view shows)."""
        return self.history.steps if self.history is not None else 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "failed")

    @property
    def settings(self) -> dict:
        """The setting as a dict (images by label)."""
        return self.setting.values()


#: The name the explorer's cache entries had before the session existed.
CachedRun = Run


# --------------------------------------------------------------------------- the images
class ImageSources:
    """The images a session can use, by label: the bundled ones, files and tensors given, uploads.

    Each image has a stable id (``bundled:<name>``, or the kind of source and a digest of its pixels), so
    the same picture given twice is one entry, and cache keys survive renaming.
    """

    def __init__(self) -> None:
        self.images: dict[str, dict[str, object]] = {"content": {}, "style": {}}
        self.ids: dict[str, dict[str, str]] = {"content": {}, "style": {}}
        #: Uploads accepted so far, per kind.
        self.uploads = {"content": 0, "style": 0}
        for kind in ("content", "style"):
            for name, path in bundled_images(kind).items():
                self.images[kind][name] = path
                self.ids[kind][name] = f"bundled:{name}"

    def labels(self, kind: str) -> list[str]:
        return list(self.images[kind])

    def add(self, kind: str, src) -> str:
        """A bundled name, a path or a tensor -> its label (a new entry if the picture is new)."""
        if isinstance(src, str) and src in self.images[kind]:
            return src
        if isinstance(src, (str, Path)):
            path = Path(src).expanduser()
            return self._add(kind, path.stem, load_image(path), "file")
        if isinstance(src, torch.Tensor):
            return self._add(kind, f"my {kind}", load_image(src), "tensor")
        raise ParameterError(f"{kind} must be a bundled image name, a path or a tensor, got {type(src).__name__}.")

    def add_upload(self, kind: str, name: str, data: bytes, max_mb: float) -> str:
        """The bytes of an uploaded file -> its label; ImageLoadError (with what to do) if it is refused."""
        if len(data) > max_mb * 1e6:
            raise ImageLoadError(f"'{name}' is {len(data) / 1e6:.1f} MB; the limit is {max_mb:g} MB. Shrink it "
                                 "(1024 px on the long side is plenty) and upload it again.")
        try:
            tensor = load_image(data, max_size=UPLOAD_SIDE)
        except ImageLoadError as exc:
            raise ImageLoadError(f"'{name}': {exc}") from None
        self.uploads[kind] += 1
        return self._add(kind, Path(name).stem or "upload", tensor, "upload")

    def _add(self, kind: str, name: str, tensor: torch.Tensor, prefix: str) -> str:
        sid = f"{prefix}:{hashlib.sha1(tensor.numpy().tobytes()).hexdigest()[:12]}"
        for label, known in self.ids[kind].items():
            if known == sid:
                return label
        label, n = name, 2
        while label in self.images[kind]:
            label, n = f"{name} ({n})", n + 1
        self.images[kind][label] = tensor
        self.ids[kind][label] = sid
        return label


# --------------------------------------------------------------------------- the cache
class RunCache(OrderedDict):
    """Finished runs by key, least recently used first; at most ``size`` runs and ``mb`` MB of snapshots."""

    def __init__(self, size: int = 32, mb: float = 1024.0) -> None:
        super().__init__()
        self.size, self.mb = int(size), float(mb)

    def keep(self, run: Run) -> None:
        self[run.key] = run
        self.move_to_end(run.key)
        while len(self) > 1 and (len(self) > self.size or sum(map(_snapshot_mb, self.values())) > self.mb):
            self.popitem(last=False)


def _snapshot_mb(run: Run) -> float:
    return sum(t.numel() * t.element_size() for _, t in run.history.snapshots) / 1e6


# --------------------------------------------------------------------------- the session
class ExplorerSession:
    """Settings, runs, cache, Stop and Save of one explorer; no widgets.

    Parameters
    ----------
    content, style
        A bundled image name, a file path or an image tensor.
    every
        Snapshot interval; default :func:`snapshot_every` of the steps. It never changes G.
    seed
        Seed of the noise for the noisy starts (part of the cache key).
    precision
        Arithmetic of the runs (part of the cache key): ``"auto"`` (default) takes the machine's fast path,
        bfloat16 with channels-last where bfloat16 is native (AMX, AVX512-BF16, recent GPUs), else float32
        with channels-last; ``"float32"`` gives the lectures' textbook computation.
    cache_size, cache_mb
        Most finished runs kept, and most memory their snapshots may take.
    max_upload_mb
        Uploads larger than this are refused.
    **values
        Starting values of the setting (:data:`SETTING_FIELDS`).
    """

    def __init__(self, content="grace_hopper", style="swirls", *, every: int | None = None, seed: int = 0,
                 precision: str = "auto", cache_size: int = 32, cache_mb: float = 1024.0,
                 max_upload_mb: float = MAX_UPLOAD_MB, **values) -> None:
        self.every = None if every is None else check_field("every", every)
        self.seed = seed
        self.precision = check_field("precision", precision)
        self.max_upload_mb = float(max_upload_mb)
        self.sources = ImageSources()
        self.setting = Setting(content=self.sources.add("content", content),
                               style=self.sources.add("style", style)).replace(**values)
        #: Finished runs by key (see :meth:`key`), most recently used last.
        self.cache = RunCache(cache_size, cache_mb)
        #: Runs answered from the cache, and optimisations started.
        self.cache_hits = 0
        self.runs = 0
        #: The current run (None when idle) and the last run that ended.
        self.current: Run | None = None
        self.last: Run | None = None
        self._ended: dict[tuple, Run] = {}  # the newest stopped or failed run of each setting (not cached)
        self._saved: dict[tuple, Path] = {}
        self._listeners: list[Callable[[str, Run], None]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the setting
    def update(self, **changes) -> Setting:
        """Change values of the setting (``update(beta=1e6, content="chelsea")``); returns the new setting."""
        for kind in ("content", "style"):
            if kind in changes:
                changes[kind] = self.sources.add(kind, changes[kind])
        with self._lock:
            self.setting = self.setting.replace(**changes)
            return self.setting

    def key(self, setting: Setting | None = None) -> tuple:
        """Cache key: the images' ids, the values and the seed (not ``every``: it does not change G)."""
        s = self.setting if setting is None else setting
        values = tuple(getattr(s, name) for name in SETTING_FIELDS)
        return (self.sources.ids["content"][s.content], self.sources.ids["style"][s.style], *values, self.seed,
                self.precision)

    def run_for(self, setting: Setting | None = None) -> Run | None:
        """The run of a setting (default: the current one): cached, in progress, stopped or failed; else None."""
        key = self.key(setting)
        with self._lock:
            if key in self.cache:
                return self.cache[key]
            if self.current is not None and self.current.key == key:
                return self.current
            return self._ended.get(key)

    def every_for(self, steps: int) -> int:
        return self.every if self.every is not None else snapshot_every(steps)

    def subscribe(self, listener: Callable[[str, Run], None]) -> None:
        """Call ``listener(event, run)`` on ``started``, ``progress``, ``stopping``, ``ended`` and ``hit``."""
        self._listeners.append(listener)

    def _tell(self, event: str, run: Run) -> None:
        for listener in list(self._listeners):
            listener(event, run)

    # ---- running
    @property
    def running(self) -> bool:
        return self.current is not None

    def start(self, *, background: bool = True) -> Run | None:
        """Run the current setting; a cached one returns at once, and None means a run is already in progress.

        With ``background=False`` it blocks and returns the ended run (``status`` says how it ended).
        """
        with self._lock:
            if self.current is not None:
                return None
            setting, key = self.setting, self.key()
            if key in self.cache:
                hit = self.cache[key]
                self.cache.move_to_end(key)
                self.cache_hits += 1
                self.last = hit
                self._tell("hit", hit)
                return hit
            run = Run(key=key, setting=setting, config=None, clicked=time.perf_counter())
            self._ended.pop(key, None)
            self._stop.clear()
            self.current = run
            self.runs += 1
        self._tell("started", run)
        if not background:
            self._work(run)
            return run
        self._thread = threading.Thread(target=self._work, args=(run,), name="nst-explorer-run", daemon=True)
        self._thread.start()
        return run

    def stop(self) -> None:
        """Ask the run in progress to end; it keeps the best G so far."""
        run = self.current
        if run is not None and not run.finished:
            self._stop.set()
            run.status = "stopping"
            self._tell("stopping", run)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; False if it is still running after ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _work(self, run: Run) -> None:
        try:
            run.config = run.setting.config(seed=self.seed, every=self.every_for(run.setting.steps), progress=False,
                                            precision=self.precision)
            content = self.sources.images["content"][run.setting.content]
            style = self.sources.images["style"][run.setting.style]
            run.result, history = run_style_transfer(content, style, run.config,
                                                     callback=lambda step, G, h: self._progress(run, h))
        except Exception as exc:  # shown in the view; a thread must not die with a traceback
            run.exception, run.error = exc, str(exc) if isinstance(exc, NSTError) else f"{type(exc).__name__}: {exc}"
            run.traceback = traceback.format_exc()
            self._end(run, "failed")
            return
        run.history = history
        self._end(run, "done" if history.stopped is None else "stopped")

    def _progress(self, run: Run, history: History) -> bool:
        if run.first_progress is None:
            run.first_progress = time.perf_counter() - run.clicked
        run.history = history.copy()
        if run.status == "starting":
            run.status = "running"
        self._tell("progress", run)
        return self._stop.is_set()

    def _end(self, run: Run, status: str) -> None:
        with self._lock:
            run.status = status
            run.seconds = time.perf_counter() - run.clicked
            if status == "done":
                self.cache.keep(run)
            else:
                self._ended = {run.key: run}
            self.current = None
            self.last = run
        self._tell("ended", run)

    def warm_up(self, then: Callable[[], None] | None = None) -> None:
        """Decode the VGG19 weights, then (unless a run has started) prime PyTorch's kernels and ``then()``.

        Best effort, meant for a background thread: the optional parts are skipped once a run is busy.
        """
        try:
            vgg = load_vgg19("caffe", last_layer="relu5_1")  # decodes the weights once per process
            if not self.running:
                x = torch.rand(1, 3, 64, 64, requires_grad=True)  # first passes set up PyTorch's CPU kernels
                vgg(x).square().mean().backward()
            if then is not None and not self.running:
                then()
        except Exception:
            pass

    # ---- saving
    def save(self, run: Run, step: int, image: torch.Tensor, is_result: bool,
             folder: Path) -> tuple[Path, bool]:
        """Write ``image`` (G of ``run`` at ``step``) as a new PNG in ``folder``; never replaces a file.

        Returns ``(path, new)``: saving the same picture of the same run again returns the file
        written before (``new`` False) while it still exists, rather than a copy.
        """
        digest = hashlib.sha1(image.detach().cpu().numpy().tobytes()).hexdigest()
        stem = _file_stem(run.setting, None if is_result else step)
        seen = self._saved.get((folder.resolve(), stem, digest))
        if seen is not None and seen.exists():
            return seen, False
        for n in range(1, 10000):
            path = folder / f"{stem}_{n:03d}.png"
            if path.exists():
                continue
            try:
                save_image(image, path)
            except FileExistsError:  # appeared meanwhile: take the next number
                continue
            self._saved[(folder.resolve(), stem, digest)] = path
            return path, True
        raise NSTError(f"9999 files named {stem}_NNN.png exist in {folder}; save elsewhere or tidy up.")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(text)).strip("_") or "image"


def _file_stem(s: Setting, step: int | None) -> str:
    stem = f"nst_{_safe(s.content)}_{_safe(s.style)}_b{_safe(f'{s.beta:g}')}"
    if s.alpha != 1:
        stem += f"_a{_safe(f'{s.alpha:g}')}"
    return stem if step is None else f"{stem}_it{step}"
