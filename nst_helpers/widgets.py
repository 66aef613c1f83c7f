"""Interactive widgets: the style-transfer explorer and the step-through viewer.

Two entry points, both for a Jupyter notebook::

    from nst_helpers.widgets import explorer
    explorer()                       # the whole app: pick images and weights, press Run

    from nst_helpers.widgets import step_through
    G, history = run_style_transfer(C, S, steps=100, every=5)
    step_through(history, result=G)  # a slider over the snapshots of a finished run

How the explorer stays responsive
---------------------------------
A run takes seconds, so nothing runs when a slider moves: **Run** starts it.
The optimisation happens in a background thread (:class:`threading.Thread`);
the kernel's own thread stays free to receive clicks. **Stop** only sets a
flag; the ``callback`` of :func:`~nst_helpers.transfer.run_style_transfer`
checks it every few evaluations and returns True, and the run then ends with
the best G found so far. The callback also pushes the newest G and the loss
curves to the widgets (ipywidgets 8 sends widget updates from any thread).

Every finished run is cached under its parameters (images, alpha, beta,
steps, size, layers, init, optimiser): moving the sliders back to a setting
shows its result at once, and pressing Run again costs nothing.

For tests and scripts the :class:`Explorer` object offers the same actions
as methods: ``run()`` (blocking), ``run_async()``, ``stop()``, ``wait()``,
``save()``, ``set(beta=...)``, and the results as attributes (``result``,
``history``, ``cache``, ``cache_hits``, ``runs``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import threading
import time
import traceback
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as W
import torch
from PIL import Image

from .errors import ImageLoadError, NSTError, ParameterError
from .images import bundled_images, load_image, save_image, to_pil
from .model import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS
from .transfer import DEFAULT_ALPHA, DEFAULT_BETA, INIT_MODES, History, run_style_transfer
from .vgg import LAYER_NAMES, check_layer_names, layer_index

__all__ = [
    "ALPHA_VALUES",
    "BETA_VALUES",
    "SIZE_VALUES",
    "CachedRun",
    "Explorer",
    "StepThrough",
    "explorer",
    "snapshot_every",
    "step_through",
]


def _log_values(lo: int, hi: int) -> tuple[float, ...]:
    """0, then six stops per decade from 10**lo to 10**hi: 1, 1.5, 2, 3, 5, 7, 10, 15, ...

    The stops are close to evenly spaced on a log scale, and they are round
    numbers a student can remember and come back to (which the cache needs).
    """
    values = [float(f"{m * 10.0 ** e:.3g}") for e in range(lo, hi) for m in (1, 1.5, 2, 3, 5, 7)]
    return (0.0, *values, float(10.0 ** hi))


#: Stops of the alpha slider (0 = no content loss: pure texture synthesis).
ALPHA_VALUES = _log_values(-2, 2)
#: Stops of the beta slider (0 = no style loss: G only reconstructs the content).
BETA_VALUES = _log_values(3, 8)  # the default DEFAULT_BETA = 3e6 is a stop
#: Image sizes (long side, pixels) the explorer offers.
SIZE_VALUES = (64, 96, 128, 160, 192, 256, 320, 384, 512)
#: Layers offered for the content and style losses: the ReLU outputs (the paper's "convX_Y").
RELU_LAYERS = tuple(n for n in LAYER_NAMES if n.startswith("relu"))
#: Default upload limit in MB. Jupyter's server refuses websocket messages over 10 MiB
#: (tornado's default ``websocket_max_message_size``), so a bigger file never reaches the kernel.
MAX_UPLOAD_MB = 10.0

_LABEL = {"lbfgs": "L-BFGS", "adam": "Adam"}
_DESC = {"description_width": "76px"}
_RENDER_LOCK = threading.Lock()  # matplotlib is not thread-safe: one figure at a time
_WEIGHTS_LOCK = threading.Lock()  # held while the warm-up decodes the VGG19 weights
_ACTIVE_RUNS: set[int] = set()  # ids of the explorer runs in progress (the warm-up yields to them)


def snapshot_every(steps: int) -> int:
    """Snapshot (and preview) interval the explorer uses for a run of ``steps`` evaluations.

    Every evaluation for short runs (so the first preview comes as early as possible), about 30
    snapshots for longer ones, and at most every 10 evaluations.
    """
    return max(1, min(10, steps // 30))


def _fmt(v: float) -> str:
    return f"{v:g}"


def _fmt_loss(v: float) -> str:
    return f"{v:.3g}"


# --------------------------------------------------------------------------- rendering helpers
def _png(image: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _figure(width: float = 4.6, height: float = 3.0):
    from matplotlib.figure import Figure  # no pyplot: safe outside the main thread

    fig = Figure(figsize=(width, height), dpi=80)
    return fig, fig.subplots()


def _fig_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _loss_plot_png(history: History, mark_step: int | None) -> bytes:
    from .plotting import plot_losses

    with _RENDER_LOCK:
        fig, ax = _figure()
        ax.set_title("losses per evaluation (log scale); red line: iteration k", fontsize=9)
        plot_losses(history, ax=ax, mark_step=mark_step)
        return _fig_png(fig)


@functools.lru_cache(maxsize=8)
def _placeholder_png(text: str, width: float = 4.6, height: float = 3.0) -> bytes:
    with _RENDER_LOCK:
        fig, ax = _figure(width, height)
        ax.axis("off")
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="0.45", wrap=True)
        return _fig_png(fig)


def _copy_history(h: History) -> History:
    """A consistent copy of a history that the optimiser thread keeps appending to."""
    return History(total=list(h.total), content=list(h.content), style=list(h.style), layers={},
                   snapshots=list(h.snapshots), best_step=h.best_step, best_loss=h.best_loss,
                   stopped=h.stopped, seconds=h.seconds, settings=dict(h.settings))


class _PngCache:
    """PNG bytes of tensors by tensor identity (a weak reference guards against a reused id)."""

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[int, tuple[weakref.ref, bytes]] = OrderedDict()
        self._size = size

    def get(self, t: torch.Tensor) -> bytes:
        hit = self._items.get(id(t))
        if hit is not None and hit[0]() is t:
            self._items.move_to_end(id(t))
            return hit[1]
        png = _png(t)
        self._items[id(t)] = (weakref.ref(t), png)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
        return png


# --------------------------------------------------------------------------- step-through viewer
class StepThrough:
    """A slider over the snapshots of a run: G at iteration k, its losses, and the loss curve marking k.

    Parameters
    ----------
    history
        A :class:`~nst_helpers.transfer.History` from :func:`run_style_transfer`
        (its ``snapshots`` are taken every ``every`` evaluations).
    result
        The G returned with the history; shown at the last position if given.
    title
        Text under the image (for example the setting of the run).

    Notes
    -----
    The losses shown for iteration k are those of objective evaluation k
    (``history.total[k - 1]``, the same convention as
    :func:`~nst_helpers.plotting.plot_losses`); for k = 0 those of the first
    evaluation, which is the loss of the starting image.

    Attributes: ``widget`` (display it), ``slider`` (the snapshot index),
    ``image`` and ``losses`` (``ipywidgets.Image`` with PNG bytes), ``info``,
    ``caption``; :meth:`show_step` selects an iteration by its number.
    """

    def __init__(self, history: History | None = None, result: torch.Tensor | None = None, *,
                 title: str = "", image_size: int = 300) -> None:
        self.history: History | None = None
        self.result: torch.Tensor | None = None
        self.title = title
        self.live = False
        self._run_id: object = None
        self._quiet = False
        self._pngs = _PngCache()
        self._plot_cache: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()
        self._lock = threading.RLock()

        px = f"{image_size}px"
        self.caption = W.HTML()
        self.caption.add_class("nst-caption")
        self.image = W.Image(format="png", layout=W.Layout(width=px, height=px, object_fit="contain",
                                                           border="1px solid #ddd"))
        self.image.add_class("nst-preview")
        self.losses = W.Image(format="png", layout=W.Layout(width="368px", height="240px", object_fit="contain"))
        self.losses.add_class("nst-losses")
        self.slider = W.IntSlider(value=0, min=0, max=0, description="iteration k", readout=False,
                                  continuous_update=False, style=_DESC, layout=W.Layout(width="420px"),
                                  tooltip="Step through the snapshots of the run")
        self.slider.add_class("nst-step")
        self.step_label = W.HTML(layout=W.Layout(width="260px"))
        self.step_label.add_class("nst-step-label")
        self.info = W.HTML()
        self.info.add_class("nst-step-info")
        self.slider.observe(self._on_slider, "value")
        self.widget = W.VBox([
            W.HBox([self.image, self.losses], layout=W.Layout(align_items="center", grid_gap="16px")),
            self.caption,
            W.HBox([self.slider, self.step_label], layout=W.Layout(align_items="center")),
            self.info,
        ])
        self.widget.add_class("nst-step-through")
        if history is not None:
            self.set_history(history, result, title=title)
        else:
            self.show_placeholder(None, "no run yet")

    # ---- public
    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.widget, "Step-through viewer (an interactive widget: run the notebook in Jupyter "
                                    "to use it)", **kwargs)

    @property
    def steps(self) -> list[int]:
        """The iteration numbers of the snapshots (the slider's positions)."""
        return [s for s, _ in self.history.snapshots] if self.history is not None else []

    @property
    def step(self) -> int | None:
        """The iteration shown now."""
        if self.history is None or not self.history.snapshots:
            return None
        return self.history.snapshots[self.slider.value][0]

    def show_step(self, k: int) -> None:
        """Show the snapshot at iteration ``k`` (or the last one before it)."""
        if self.history is None or not self.history.snapshots:
            raise ValueError("There is no run to step through yet.")
        index = 0
        for i, (s, _) in enumerate(self.history.snapshots):
            if s <= k:
                index = i
        self.slider.value = index

    def current(self) -> tuple[int, torch.Tensor, bool] | None:
        """``(step, G, is_result)`` of the image shown now, or None."""
        with self._lock:
            if self.history is None or not self.history.snapshots:
                return None
            i = self.slider.value
            step, G = self.history.snapshots[i]
            if self._shows_result(i):
                return step, self.result, True
            return step, G, False

    def set_history(self, history: History, result: torch.Tensor | None = None, *, title: str | None = None,
                    live: bool = False, run_id: object = None, plot: bool = True) -> None:
        """Show (or update, during a run) a history. The slider follows the newest snapshot while it is at the end."""
        with self._lock:
            new_run = run_id is None or run_id != self._run_id or self.history is None
            at_end = new_run or self.slider.value >= self.slider.max
            self.history, self.result, self.live, self._run_id = history, result, live, run_id
            if title is not None:
                self.title = title
            n = len(history.snapshots)
            self._quiet = True
            try:
                self.slider.disabled = n <= 1
                self.slider.max = max(n - 1, 0)
                if at_end:
                    self.slider.value = self.slider.max
            finally:
                self._quiet = False
            if new_run and not plot:
                self.losses.value = _placeholder_png("loss curves appear after two evaluations")
            self._render(plot=plot)

    def show_placeholder(self, png: bytes | None, caption: str, plot_text: str = "loss curves appear here") -> None:
        """Show a still image (e.g. the content image before the first run) and no curves."""
        with self._lock:
            self.history, self.result, self.live, self._run_id = None, None, False, None
            self._quiet = True
            try:
                self.slider.max = 0
                self.slider.value = 0
                self.slider.disabled = True
            finally:
                self._quiet = False
            self.image.value = png or b""
            self.caption.value = caption
            self.step_label.value = ""
            self.info.value = ""
            self.losses.value = _placeholder_png(plot_text)

    # ---- internals
    def _shows_result(self, index: int) -> bool:
        return (self.result is not None and not self.live and self.history is not None
                and index == len(self.history.snapshots) - 1)

    def _on_slider(self, change) -> None:
        if not self._quiet:
            self._render()

    def _plot(self, mark: int) -> bytes:
        h = self.history
        key = (id(h.total), len(h.total), mark)
        hit = self._plot_cache.get(key)
        if hit is not None and hit[0] is h.total:  # the list itself is kept, so its id is not reused
            return hit[1]
        png = _loss_plot_png(h, mark)
        self._plot_cache[key] = (h.total, png)
        while len(self._plot_cache) > 32:
            self._plot_cache.popitem(last=False)
        return png

    def _render(self, plot: bool = True) -> None:
        with self._lock:
            h = self.history
            if h is None or not h.snapshots:
                return
            i = min(self.slider.value, len(h.snapshots) - 1)
            step, G = h.snapshots[i]
            total = h.settings.get("steps", h.steps)
            evaluation = max(step, 1)  # whose losses are shown and marked on the curves
            if self._shows_result(i):
                G = self.result
                if h.best_step > 0:
                    evaluation = h.best_step
                what = (f"<b>Shown: the result</b>, the G with the lowest loss (found at evaluation {evaluation} "
                        f"of {h.steps})")
            elif self.live and i == len(h.snapshots) - 1:
                what = f"<b>Shown: G at iteration {step}</b>, the newest snapshot (still running)"
            else:
                what = f"<b>Shown: G at iteration {step}</b> (a snapshot)"
            self.image.value = self._pngs.get(G)
            self.caption.value = what + (f" &middot; <span style='color:#555'>{self.title}</span>"
                                         if self.title else "")
            self.step_label.value = f"<b>k = {step}</b> of {total} &nbsp;({i + 1} / {len(h.snapshots)} snapshots)"
            self.info.value = self._loss_text(h, step, evaluation, result=self._shows_result(i))
            if plot and h.steps > 0:
                self.losses.value = self._plot(evaluation if self._shows_result(i) else step)
            elif h.steps == 0:
                self.losses.value = _placeholder_png("loss curves appear here")

    @staticmethod
    def _loss_text(h: History, step: int, e: int, result: bool = False) -> str:
        if e > len(h.total):
            return f"losses at iteration {step}: not evaluated yet"
        a = h.settings.get("alpha", 1.0)
        b = h.settings.get("beta", 1.0)
        c, s = h.content[e - 1], h.style[e - 1]
        where = f"of the result (evaluation {e})" if result else f"at iteration {step} (evaluation {e})"
        return (f"Losses {where}: <b>L = {_fmt_loss(h.total[e - 1])}</b> = "
                f"&alpha;&middot;L_content {_fmt_loss(a * c)} + &beta;&middot;L_style {_fmt_loss(b * s)} "
                f"&nbsp;<span style='color:#555'>(L_content = {_fmt_loss(c)}, L_style = {_fmt_loss(s)})</span>")


def step_through(history: History, result: torch.Tensor | None = None, *, title: str = "") -> StepThrough:
    """A step-through viewer for a finished run (display the returned object, or its ``.widget``).

    Example::

        G, history = run_style_transfer(C, S, steps=100, every=5)
        step_through(history, result=G)
    """
    if not history.snapshots:
        raise ValueError("This history kept no snapshots; run with every=k to keep some.")
    return StepThrough(history, result, title=title)


# --------------------------------------------------------------------------- the explorer
@dataclass
class CachedRun:
    """One finished (or stopped) run of the explorer."""

    key: tuple
    settings: dict
    result: torch.Tensor
    history: History
    seconds: float  # wall time from the click to the end, images and VGG19 included
    first_progress: float | None = None  # seconds from the click to the first preview


@dataclass
class _Job:
    key: tuple
    settings: dict
    content: object
    style: object
    every: int
    clicked: float
    run_id: int
    first_progress: float | None = None
    last_plot: float = 0.0
    plot_cost: float = 0.0


class Explorer:
    """The style-transfer explorer: controls, Run/Stop/Save, a live preview, loss curves, a step-through slider.

    Create it with :func:`explorer` (same arguments). Parameters set the
    starting position of the controls:

    Parameters
    ----------
    content, style
        A bundled image name (``nst_helpers.bundled_images("content")``), a
        file path, or an image tensor.
    alpha, beta
        Starting weights (values between the slider stops are added as stops).
    steps, size
        Objective evaluations per run and the image's long side in pixels.
    init, optimizer
        ``"content"``/``"noise"``/``"random"`` and ``"lbfgs"``/``"adam"``.
    content_layers, style_layers
        VGG19 layer names.
    every
        Snapshot interval; default :func:`snapshot_every` of the steps.
    seed
        Seed of the noise for the noisy starts.
    save_dir
        Folder for Save (default: the working directory at the time of saving,
        which in Jupyter is the notebook's folder).
    max_upload_mb
        Uploads larger than this are refused with a message.
    cache_size, cache_mb
        Most finished runs kept, and most memory their snapshots may take
        (the least recently used runs are dropped first).
    warm_up
        Decode the VGG19 weights in the background right away, so that the
        first Run starts faster.
    """

    def __init__(self, content="grace_hopper", style="swirls", *, alpha: float = DEFAULT_ALPHA,
                 beta: float = DEFAULT_BETA,
                 steps: int = 30, size: int = 128, init: str = "content", optimizer: str = "lbfgs",
                 content_layers: Sequence[str] = DEFAULT_CONTENT_LAYERS,
                 style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS, every: int | None = None, seed: int = 0,
                 save_dir: str | Path | None = None, max_upload_mb: float = MAX_UPLOAD_MB, cache_size: int = 32,
                 cache_mb: float = 1024.0, warm_up: bool = True) -> None:
        if init not in INIT_MODES:
            raise ParameterError(f"Unknown init {init!r}: use one of {INIT_MODES}.")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ParameterError(f"steps must be a whole number >= 1, got {steps!r}.")
        if optimizer not in _LABEL:
            raise ParameterError(f"Unknown optimizer {optimizer!r}: use 'lbfgs' or 'adam'.")
        content_layers = check_layer_names(content_layers, "content layer")
        style_layers = check_layer_names(style_layers, "style layer")
        self.every = every
        self.seed = seed
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.max_upload_mb = float(max_upload_mb)
        self.cache_size = int(cache_size)
        self.cache_mb = float(cache_mb)
        #: Finished runs by their key (see :meth:`key`), most recently used last.
        self.cache: OrderedDict[tuple, CachedRun] = OrderedDict()
        #: Runs answered from the cache (Run pressed on a cached setting).
        self.cache_hits = 0
        #: Optimisations started.
        self.runs = 0
        #: The run shown last (finished, stopped or from the cache).
        self.last: CachedRun | None = None
        #: The exception of the last failed run (its message is shown in the widget).
        self.last_error: BaseException | None = None
        self.last_traceback = ""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._job: _Job | None = None
        self._stopped: dict[tuple, CachedRun] = {}  # the newest stopped run (not cached as finished)
        self._errors: dict[tuple, str] = {}
        self._run_counter = 0
        self._viewer_source: object = None  # "live", a cache key, or None (placeholder)
        self._sources: dict[str, dict[str, object]] = {"content": {}, "style": {}}
        self._source_ids: dict[str, dict[str, str]] = {"content": {}, "style": {}}
        self._thumbs: dict[tuple[str, str], bytes] = {}
        for kind in ("content", "style"):
            for name, path in bundled_images(kind).items():
                self._sources[kind][name] = path
                self._source_ids[kind][name] = f"bundled:{name}"
        content_label = self._register_given("content", content)
        style_label = self._register_given("style", style)

        self._build_widgets(content_label, style_label, alpha, beta, steps, size, init, optimizer,
                            content_layers, style_layers)
        self._refresh()
        if warm_up:
            threading.Thread(target=_warm_up, name="nst-warm-up", daemon=True).start()

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self, content_label, style_label, alpha, beta, steps, size, init, optimizer,
                       content_layers, style_layers) -> None:
        def tag(w, cls):
            w.add_class(cls)
            return w

        wide = W.Layout(width="270px")
        pick = W.Layout(width="214px")
        self.content = tag(W.Dropdown(options=list(self._sources["content"]), value=content_label,
                                      description="content C", style=_DESC, layout=pick), "nst-content")
        self.style = tag(W.Dropdown(options=list(self._sources["style"]), value=style_label,
                                    description="style S", style=_DESC, layout=pick), "nst-style")
        up = dict(accept="image/*", multiple=False, layout=W.Layout(width="160px", margin="2px 0 0 80px"))
        self.content_upload = tag(W.FileUpload(description="your own C", **up), "nst-content-upload")
        self.style_upload = tag(W.FileUpload(description="your own S", **up), "nst-style-upload")
        thumb = dict(format="png", layout=W.Layout(height="72px", width="96px", object_fit="contain"))
        self.content_thumb = tag(W.Image(**thumb), "nst-content-thumb")
        self.style_thumb = tag(W.Image(**thumb), "nst-style-thumb")

        self.alpha = tag(_log_slider(ALPHA_VALUES, alpha, "α content",
                                     "Weight alpha of the content loss (log scale; 0 = off)"), "nst-alpha")
        self.beta = tag(_log_slider(BETA_VALUES, beta, "β style",
                                    "Weight beta of the style loss (log scale; 0 = off)"), "nst-beta")
        self.steps = tag(W.IntSlider(value=steps, min=min(5, steps), max=max(500, steps), step=5, description="steps",
                                     continuous_update=False, style=_DESC, layout=wide,
                                     tooltip="Objective evaluations (forward + backward passes)"), "nst-steps")
        if size not in SIZE_VALUES:
            raise ParameterError(f"size must be one of {SIZE_VALUES}, got {size!r}.")
        self.size = tag(W.SelectionSlider(options=[(f"{s} px", s) for s in SIZE_VALUES], value=size,
                                          description="size", continuous_update=False, style=_DESC, layout=wide,
                                          tooltip="Long side of G in pixels"), "nst-size")
        self.init = tag(W.ToggleButtons(options=list(INIT_MODES), value=init, description="start from",
                                        style={**_DESC, "button_width": "76px"},
                                        tooltips=["G starts as the content image", "content + Gaussian noise",
                                                  "uniform noise"]), "nst-init")
        self.optimizer = tag(W.ToggleButtons(options=[(v, k) for k, v in _LABEL.items()], value=optimizer,
                                             description="optimiser", style={**_DESC, "button_width": "76px"}),
                             "nst-optimizer")
        layer_opts = list(RELU_LAYERS) + [n for n in (*content_layers, *style_layers) if n not in RELU_LAYERS]
        layer_opts.sort(key=layer_index)
        sel = dict(options=layer_opts, rows=len(layer_opts), layout=W.Layout(width="104px"))
        self.content_layers = tag(W.SelectMultiple(value=tuple(content_layers), **sel), "nst-content-layers")
        self.style_layers = tag(W.SelectMultiple(value=tuple(style_layers), **sel), "nst-style-layers")

        self.run_button = tag(W.Button(description="Run", icon="play", button_style="primary",
                                       tooltip="Optimise G for this setting (cached settings show at once)"),
                              "nst-run")
        self.stop_button = tag(W.Button(description="Stop", icon="stop", button_style="warning", disabled=True,
                                        tooltip="End the run and keep the best G so far"), "nst-stop")
        self.save_button = tag(W.Button(description="Save PNG", icon="save",
                                        tooltip="Write the G shown as a new PNG file next to the notebook"),
                               "nst-save")
        self.progress = tag(W.IntProgress(value=0, min=0, max=steps, layout=W.Layout(width="220px")),
                            "nst-progress")
        self.progress_label = tag(W.HTML(layout=W.Layout(min_width="110px")), "nst-progress-label")
        self.progress.observe(self._on_progress, "value")
        self.progress.observe(self._on_progress, "max")
        self._on_progress(None)
        self.readout = tag(W.HTML(), "nst-readout")
        self.message = tag(W.HTML(), "nst-message")
        self.viewer = StepThrough()

        self.run_button.on_click(lambda _b: self.run_async())
        self.stop_button.on_click(lambda _b: self.stop())
        self.save_button.on_click(lambda _b: self.save())
        for w in (self.content, self.style, self.alpha, self.beta, self.steps, self.size, self.init,
                  self.optimizer, self.content_layers, self.style_layers):
            w.observe(self._on_setting, "value")
        self.content.observe(lambda c: self._update_thumb("content"), "value")
        self.style.observe(lambda c: self._update_thumb("style"), "value")
        self.content_upload.observe(lambda c: self._on_upload("content", c), "value")
        self.style_upload.observe(lambda c: self._on_upload("style", c), "value")
        self._update_thumb("content")
        self._update_thumb("style")

        row = W.Layout(align_items="center", grid_gap="6px")

        def box(title, *children, width=None):
            b = W.VBox([W.HTML(f"<b>{title}</b>"), *children],
                       layout=W.Layout(padding="4px 8px", border="1px solid #e3e3e3", width=width))
            return b

        images = box("1. Images",
                     W.HBox([W.VBox([self.content, self.content_upload]), self.content_thumb], layout=row),
                     W.HBox([W.VBox([self.style, self.style_upload]), self.style_thumb], layout=row),
                     W.HTML(f"<small>Upload a PNG or JPEG (at most {_fmt(self.max_upload_mb)} MB).</small>"))
        weights = box("2. Loss weights and run length",
                      self.alpha, self.beta, self.steps, self.size, self.init, self.optimizer)
        layer_help = W.HTML(
            "<div style='line-height:1.45'>The paper's <i>conv4_2</i> is <code>relu4_2</code> here: Caffe "
            "applied each ReLU in place, so the paper's features are the ReLU outputs.<br><br>"
            "A <b>deeper content layer</b> keeps the layout of C but lets its details go.<br>"
            "<b>Style layers</b> from shallow to deep match colours and fine strokes, then larger motifs.<br><br>"
            "Ctrl/&#8984;-click to pick several.</div>", layout=W.Layout(width="330px"))
        layers_body = W.HBox([W.VBox([W.HTML("<b>content layers</b>"), self.content_layers]),
                              W.VBox([W.HTML("<b>style layers</b>"), self.style_layers]), layer_help],
                             layout=W.Layout(grid_gap="14px"))
        self.layers = tag(W.Accordion(children=[layers_body], selected_index=None), "nst-layers")
        self.content_layers.observe(lambda c: self._layers_title(), "value")
        self.style_layers.observe(lambda c: self._layers_title(), "value")
        self._layers_title()
        actions = W.HBox([self.run_button, self.stop_button, self.save_button, self.progress, self.progress_label],
                         layout=W.Layout(align_items="center", grid_gap="6px"))
        intro = W.HTML(
            "<b>Style-transfer explorer.</b> Choose C, S and the weights, then press <b>Run</b>: "
            "G starts from C and is optimised to minimise &alpha;&middot;L<sub>content</sub> + "
            "&beta;&middot;L<sub>style</sub>; only the ratio &beta;/&alpha; matters. "
            "Every finished setting is cached: move a slider back and its result returns at once."
        )
        self.widget = W.VBox([
            intro,
            W.HBox([images, weights], layout=W.Layout(grid_gap="8px", flex_flow="row wrap")),
            self.layers,
            actions,
            self.message,
            self.readout,
            self.viewer.widget,
        ], layout=W.Layout(grid_gap="6px"))
        self.widget.add_class("nst-explorer")

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.widget, "Style-transfer explorer (an interactive widget: run the notebook in Jupyter "
                                    "with a live kernel to use it)", **kwargs)

    def _layers_title(self) -> None:
        def names(w):
            return ", ".join(sorted(w.value, key=layer_index)) or "none"

        self.layers.set_title(0, f"3. VGG19 layers: content {names(self.content_layers)} | style "
                                 f"{names(self.style_layers)} (click to change)")

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict:
        """The setting of the controls now (names, weights, sizes, layers)."""
        return dict(
            content=self.content.value, style=self.style.value,
            alpha=float(self.alpha.value), beta=float(self.beta.value),
            steps=int(self.steps.value), size=int(self.size.value),
            init=self.init.value, optimizer=self.optimizer.value,
            content_layers=tuple(sorted(self.content_layers.value, key=layer_index)),
            style_layers=tuple(sorted(self.style_layers.value, key=layer_index)),
        )

    def key(self, settings: dict | None = None) -> tuple:
        """Cache key of a setting (default: the controls' setting)."""
        s = self.settings() if settings is None else settings
        return (self._source_ids["content"][s["content"]], self._source_ids["style"][s["style"]],
                s["alpha"], s["beta"], s["steps"], s["size"], s["init"], s["optimizer"],
                s["content_layers"], s["style_layers"], self._every(s["steps"]), self.seed)

    def set(self, **params) -> None:
        """Move controls, e.g. ``ex.set(beta=100, steps=50)``; a value between slider stops becomes a stop."""
        names = {"content", "style", "alpha", "beta", "steps", "size", "init", "optimizer",
                 "content_layers", "style_layers"}
        unknown = set(params) - names
        if unknown:
            raise ParameterError(f"Unknown setting(s) {sorted(unknown)}; use {sorted(names)}.")
        for name, value in params.items():
            w = getattr(self, name)
            if name in ("alpha", "beta"):
                _ensure_stop(w, float(value))
                w.value = float(value)
            elif name in ("content_layers", "style_layers"):
                w.value = tuple(check_layer_names(value, name[:-1].replace("_", " ")))
            elif name in ("content", "style"):
                w.value = self._register_given(name, value)
            elif name == "steps":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ParameterError(f"steps must be a whole number >= 1, got {value!r}.")
                w.min, w.max = min(w.min, value), max(w.max, value)
                w.value = value
            elif name == "size" and value not in SIZE_VALUES:
                raise ParameterError(f"size must be one of {SIZE_VALUES}, got {value!r}.")
            else:
                w.value = value

    def describe(self, settings: dict | None = None) -> str:
        """A one-line description of a setting (HTML)."""
        s = self.settings() if settings is None else settings
        ratio = "&infin;" if s["alpha"] == 0 else _fmt(float(f"{s['beta'] / s['alpha']:.3g}"))
        return (f"<b>&beta;/&alpha; = {ratio}</b> (&alpha; = {_fmt(s['alpha'])}, &beta; = {_fmt(s['beta'])}) &middot; "
                f"{s['content']} &times; {s['style']} &middot; {s['size']} px &middot; {s['steps']} steps "
                f"{_LABEL[s['optimizer']]} &middot; start: {s['init']}")

    # ------------------------------------------------------------------ public actions
    @property
    def running(self) -> bool:
        """True while an optimisation is in progress."""
        return self._job is not None

    @property
    def result(self) -> torch.Tensor | None:
        """G of the run shown last (the best G of a stopped run)."""
        return self.last.result if self.last is not None else None

    @property
    def history(self) -> History | None:
        """History of the run shown last."""
        return self.last.history if self.last is not None else None

    def run(self) -> CachedRun | None:
        """Run the current setting here and now (blocks); a cached setting returns at once.

        Returns the :class:`CachedRun`, or None if the run failed (the message is in the widget).
        """
        job, hit = self._begin()
        return self._work(job) if job is not None else hit

    def run_async(self) -> threading.Thread | None:
        """Start the current setting in a background thread (what Run does); None on a cache hit."""
        job, _hit = self._begin()
        if job is None:
            return None
        thread = threading.Thread(target=self._work, args=(job,), name="nst-explorer-run", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the running optimisation to end; it keeps the best G so far (what Stop does)."""
        job = self._job
        if job is not None:
            self._stop.set()
            self.stop_button.disabled = True
            if self.key() == job.key:
                self._set_readout(job.settings, "stopping: finishing the current evaluations &hellip;")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; False if it is still running after ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def save(self, directory: str | Path | None = None) -> Path | None:
        """Write the G shown as a new PNG (never replacing a file); returns its path, or None."""
        current = self.viewer.current()
        if current is None:
            self._say("Nothing to save yet: press <b>Run</b> first.", "warning")
            return None
        step, image, is_result = current
        s = self.viewer.history.settings.get("explorer", self.settings())
        stem = "nst_{}_{}_b{}".format(_safe(s["content"]), _safe(s["style"]), _safe(_fmt(s["beta"])))
        if s["alpha"] != 1:
            stem += f"_a{_safe(_fmt(s['alpha']))}"
        if not is_result:
            stem += f"_it{step}"
        folder = Path(directory) if directory is not None else (self.save_dir or Path.cwd())
        try:
            for n in range(1, 10000):
                path = folder / f"{stem}_{n:03d}.png"
                if path.exists():
                    continue
                try:
                    save_image(image, path)
                except FileExistsError:  # appeared meanwhile: take the next number
                    continue
                h, w = image.shape[-2:]
                self._say(f"Saved <code>{_html_escape(path.name)}</code> ({w} &times; {h} px) in "
                          f"{_html_escape(str(folder.resolve()))}.", "ok")
                return path
        except (OSError, NSTError) as exc:
            self._say(f"Could not save: {_html_escape(str(exc))}", "error")
            return None
        self._say(f"Could not save: 9999 files named {stem}_NNN.png exist in {folder}.", "error")
        return None

    # ------------------------------------------------------------------ running
    def _every(self, steps: int) -> int:
        return self.every if self.every is not None else snapshot_every(steps)

    def _begin(self) -> tuple[_Job | None, CachedRun | None]:
        with self._lock:
            settings = self.settings()
            if self._job is not None:
                self._say("A run is in progress: wait for it, or press <b>Stop</b>.", "warning")
                return None, None
            key = self.key(settings)
            if key in self.cache:
                entry = self.cache[key]
                self.cache.move_to_end(key)
                self.cache_hits += 1
                self._show_entry(entry)
                self._refresh()
                return None, entry
            self._run_counter += 1
            job = _Job(key=key, settings=settings, content=self._sources["content"][settings["content"]],
                       style=self._sources["style"][settings["style"]], every=self._every(settings["steps"]),
                       clicked=time.perf_counter(), run_id=self._run_counter)
            self._stop.clear()
            self._job = job
            self.runs += 1
            self._errors.pop(key, None)
            self.run_button.disabled = True
            self.stop_button.disabled = False
            self.progress.max = settings["steps"]
            self.progress.value = 0
            self.progress.bar_style = "info"
            self.message.value = ""
            self._viewer_source = "live"
            self._set_readout(settings, "starting: loading the images and VGG19 &hellip;")
            return job, None

    def _callback(self, step: int, G: torch.Tensor, history: History) -> bool:
        job = self._job
        now = time.perf_counter()
        self.progress.value = step
        if job is not None:
            if job.first_progress is None:
                job.first_progress = now - job.clicked
            with self._lock:
                if self._viewer_source == "live":
                    # redraw the curves every 1.5 s or so, less often if drawing them is slow
                    plot = history.steps >= 2 and now - job.last_plot > min(max(1.5, 4 * job.plot_cost), 4.0)
                    live = _copy_history(history)
                    live.settings["explorer"] = job.settings
                    self.viewer.set_history(live, title=self.describe(job.settings), live=True,
                                            run_id=job.run_id, plot=plot)
                    if plot:
                        job.last_plot = time.perf_counter()
                        job.plot_cost = job.last_plot - now
                if self.key() == job.key:
                    self._set_readout(job.settings, f"running: {step} / {job.settings['steps']} steps "
                                                    f"&middot; {now - job.clicked:.1f} s")
        return self._stop.is_set()

    def _work(self, job: _Job) -> CachedRun | None:
        s = job.settings
        _ACTIVE_RUNS.add(id(job))
        try:
            with _WEIGHTS_LOCK:  # if the warm-up is decoding the weights, wait for it rather than decode twice
                pass
            G, history = run_style_transfer(
                job.content, job.style, alpha=s["alpha"], beta=s["beta"], steps=s["steps"], init=s["init"],
                optimizer=s["optimizer"], content_layers=s["content_layers"], style_layers=s["style_layers"],
                size=s["size"], seed=self.seed, callback=self._callback, every=job.every, progress=False,
            )
        except Exception as exc:  # shown in the widget; a thread must not die with a traceback
            with self._lock:
                self.last_error = exc
                self.last_traceback = traceback.format_exc()
                text = str(exc) if isinstance(exc, NSTError) else f"{type(exc).__name__}: {exc}"
                self._errors[job.key] = text
                self._end_job()
                self.progress.bar_style = "danger"
                self._say(f"The run failed: {_html_escape(text)}", "error")
                self._refresh()
            return None
        finally:
            _ACTIVE_RUNS.discard(id(job))
        seconds = time.perf_counter() - job.clicked
        history.settings["explorer"] = s
        entry = CachedRun(key=job.key, settings=s, result=G, history=history, seconds=seconds,
                          first_progress=job.first_progress)
        with self._lock:
            if history.stopped is None:
                self.cache[job.key] = entry
                self.cache.move_to_end(job.key)
                self._trim_cache()
                self._stopped.pop(job.key, None)
            else:
                self._stopped = {job.key: entry}
            self.last = entry
            self._end_job()
            self.progress.bar_style = "success" if history.stopped is None else "warning"
            if self._viewer_source == "live":
                self._show_entry(entry)
            if self.key() != job.key:
                self._say(f"The run for {self.describe(s)} has finished and is cached; move the controls back "
                          "to see it.", "ok")
            elif history.stopped == "non-finite loss":
                self._say("The loss became NaN or infinite; the best finite G is shown. Lower &beta; or "
                          "change the optimiser.", "warning")
            self._refresh()
        return entry

    def _trim_cache(self) -> None:
        def mb(entry: CachedRun) -> float:
            return sum(t.numel() * t.element_size() for _, t in entry.history.snapshots) / 1e6

        while len(self.cache) > 1 and (len(self.cache) > self.cache_size
                                       or sum(mb(e) for e in self.cache.values()) > self.cache_mb):
            self.cache.popitem(last=False)

    def _end_job(self) -> None:
        self._job = None
        self.run_button.disabled = False
        self.stop_button.disabled = True

    def _show_entry(self, entry: CachedRun) -> None:
        self.last = entry
        self._viewer_source = entry.key
        self.viewer.set_history(entry.history, entry.result, title=self.describe(entry.settings),
                                run_id=("entry", entry.key, id(entry)))

    # ------------------------------------------------------------------ reacting to the controls
    def _on_setting(self, change) -> None:
        if change["owner"] is self.steps and not self.running:
            self.progress.max = self.steps.value
        self._refresh()

    def _refresh(self) -> None:
        """Readout (and, for a cached setting, the viewer) for the controls' current setting."""
        with self._lock:
            s = self.settings()
            key = self.key(s)
            job = self._job
            if key in self.cache:
                entry = self.cache[key]
                if self._viewer_source != key:
                    self._show_entry(entry)
                    self.progress.max = s["steps"]
                    self.progress.value = entry.history.steps
                    self.progress.bar_style = "success"
                h = entry.history
                self._set_readout(s, f"done: {h.steps} steps in {entry.seconds:.1f} s (optimisation "
                                     f"{h.seconds:.1f} s) &middot; result = best G, evaluation {h.best_step}")
            elif job is not None and job.key == key:
                self._viewer_source = "live"  # back on the running setting: follow the run again
                self._set_readout(s, f"running: {self.progress.value} / {s['steps']} steps")
            elif key in self._stopped:
                entry = self._stopped[key]
                if self._viewer_source != key:
                    self._show_entry(entry)
                h = entry.history
                self._set_readout(s, f"stopped at {h.steps} / {s['steps']} steps &middot; kept the best G "
                                     f"(evaluation {h.best_step}) &middot; not cached: press Run to run it fully")
            elif key in self._errors:
                self._set_readout(s, f"failed: {_html_escape(self._errors[key])}")
            else:
                busy = " (after the run in progress ends)" if job is not None else ""
                self._set_readout(s, f"not run yet: press <b>Run</b>{busy}")
                if self._viewer_source is None:
                    self._show_placeholder(s)

    def _show_placeholder(self, s: dict) -> None:
        try:
            src = self._sources["content"][s["content"]]
            png = _png(load_image(src, s["size"]))
        except Exception:
            png = None
        self.viewer.show_placeholder(png, f"<b>C = {s['content']}</b> at {s['size']} px &middot; "
                                          "press Run to start G from it")

    def _on_progress(self, change) -> None:
        self.progress_label.value = f"{self.progress.value} / {self.progress.max} steps"

    def _set_readout(self, s: dict, state: str) -> None:
        color = next((c for word, c in (("done", "#1a7f37"), ("running", "#0b5cad"), ("starting", "#0b5cad"),
                                        ("stopp", "#9a6700"), ("failed", "#b00020")) if state.startswith(word)),
                     "#555")
        self.readout.value = (f"<div style='font-size:13px;line-height:1.6'>Setting: {self.describe(s)}<br>"
                              f"<span class='nst-state' style='color:{color}'>{state}</span></div>")

    def _say(self, text: str, level: str = "ok") -> None:
        color = {"ok": "#1a7f37", "warning": "#9a6700", "error": "#b00020"}.get(level, "#333")
        self.message.value = f"<span style='color:{color}'>{text}</span>"

    # ------------------------------------------------------------------ images and uploads
    def _register_given(self, kind: str, src) -> str:
        """A bundled name, a path or a tensor -> the label of the dropdown entry (added if new)."""
        if isinstance(src, str) and src in self._sources[kind]:
            return src
        if isinstance(src, (str, Path)):
            path = Path(src).expanduser()
            tensor = load_image(path)  # ImageLoadError with a clear message if it is not an image
            label = self._add_source(kind, path.stem, tensor, prefix="file")
        elif isinstance(src, torch.Tensor):
            label = self._add_source(kind, f"my {kind}", load_image(src), prefix="tensor")
        else:
            raise ParameterError(f"{kind} must be a bundled image name, a path or a tensor, got {type(src).__name__}.")
        if hasattr(self, kind) and isinstance(getattr(self, kind), W.Dropdown):
            getattr(self, kind).options = list(self._sources[kind])
        return label

    def _add_source(self, kind: str, name: str, tensor: torch.Tensor, prefix: str) -> str:
        digest = hashlib.sha1(tensor.numpy().tobytes()).hexdigest()[:12]
        for label, sid in self._source_ids[kind].items():
            if sid == f"{prefix}:{digest}":
                return label
        label, n = name, 2
        while label in self._sources[kind]:
            label, n = f"{name} ({n})", n + 1
        self._sources[kind][label] = tensor
        self._source_ids[kind][label] = f"{prefix}:{digest}"
        return label

    def _update_thumb(self, kind: str) -> None:
        label = getattr(self, kind).value
        key = (kind, label)
        if key not in self._thumbs:
            try:
                self._thumbs[key] = _png(load_image(self._sources[kind][label], 112))
            except Exception:
                self._thumbs[key] = b""
        getattr(self, f"{kind}_thumb").value = self._thumbs[key]

    def _on_upload(self, kind: str, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = getattr(self, f"{kind}_upload")
        f = files[-1] if isinstance(files, (tuple, list)) else next(iter(files.values()))
        name = str(f.get("name", "upload"))
        try:
            size = int(f.get("size") or len(f.get("content", b"")))
            if size > self.max_upload_mb * 1e6:
                raise ImageLoadError(
                    f"'{name}' is {size / 1e6:.1f} MB; the limit is {_fmt(self.max_upload_mb)} MB. Shrink it "
                    "(1024 px on the long side is plenty) and upload it again.")
            tensor = _decode_upload(bytes(f["content"]), name)
            label = self._add_source(kind, Path(name).stem or "upload", tensor, prefix="upload")
            dropdown = getattr(self, kind)
            dropdown.options = list(self._sources[kind])
            dropdown.value = label
            h, w = tensor.shape[-2:]
            self._say(f"Uploaded <code>{_html_escape(name)}</code> ({w} &times; {h} px) as the {kind} image "
                      f"'{_html_escape(label)}'.", "ok")
        except ImageLoadError as exc:
            self._say(f"Upload refused: {_html_escape(str(exc))}", "error")
        except Exception as exc:  # never a traceback for a bad file
            self._say(f"Upload refused: could not read '{_html_escape(name)}' ({type(exc).__name__}: "
                      f"{_html_escape(str(exc))}).", "error")
        finally:
            try:
                upload.value = ()  # the same file can be chosen again
            except Exception:
                pass


# --------------------------------------------------------------------------- helpers
def _bundle(widget: W.Widget, text: str, **kwargs) -> dict:
    """The widget's display data with a short plain-text stand-in (what a static page shows)."""
    data = widget._repr_mimebundle_(**kwargs)
    if isinstance(data, tuple):  # (data, metadata)
        return ({**data[0], "text/plain": text}, data[1])
    return {**data, "text/plain": text}


def _log_slider(values: Sequence[float], value: float, description: str, tooltip: str) -> W.SelectionSlider:
    values = sorted(set(values) | {float(value)})
    return W.SelectionSlider(options=[(_fmt(v), v) for v in values], value=float(value), description=description,
                             continuous_update=False, style=_DESC, layout=W.Layout(width="270px"),
                             tooltip=tooltip)


def _ensure_stop(slider: W.SelectionSlider, value: float) -> None:
    values = [v for _, v in slider.options]
    if value not in values:
        current = slider.value
        values = sorted({*values, value})
        slider.options = [(_fmt(v), v) for v in values]
        slider.value = current


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(text)).strip("_") or "image"


def _html_escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _decode_upload(data: bytes, name: str) -> torch.Tensor:
    """Bytes of an uploaded file -> ``1 x 3 x H x W`` tensor (long side at most 1024), or ImageLoadError."""
    if not data:
        raise ImageLoadError(f"'{name}' is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"'{name}' has too many pixels to decode safely; shrink it first.") from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageLoadError(f"'{name}' is not an image (or a damaged one): upload a PNG or JPEG file.") from None
    long_side = max(img.size)
    return load_image(img, size=min(long_side, 1024))


def _warm_up() -> None:
    """Decode the VGG19 weights, then (unless a run has started) prime PyTorch and matplotlib. Best effort.

    The decoding holds ``_WEIGHTS_LOCK``, which a run waits for instead of decoding the weights a
    second time; the optional parts are skipped once a run is busy, so they never compete with it.
    """
    try:
        from .vgg import load_vgg19

        with _WEIGHTS_LOCK:
            vgg = load_vgg19("caffe", last_layer="relu5_1")  # decodes the weights once (cached)
        if not _ACTIVE_RUNS:
            x = torch.rand(1, 3, 64, 64, requires_grad=True)  # first passes set up PyTorch's CPU kernels
            vgg(x).square().mean().backward()
        if not _ACTIVE_RUNS:
            _loss_plot_png(History(total=[3.0, 2.0, 1.0], content=[0.0, 1.0, 0.5], style=[0.1, 0.03, 0.02],
                                   settings={"alpha": 1.0, "beta": 30.0}), 2)  # fonts, log ticks, mathtext
    except Exception:
        pass


def explorer(content="grace_hopper", style="swirls", **kwargs) -> Explorer:
    """Open the style-transfer explorer (a notebook shows it when it is the cell's last value).

    ``explorer()`` starts with Grace Hopper, the swirl painting, beta = DEFAULT_BETA (3e6), 128 px and 30 L-BFGS steps
    (a few seconds per run on a laptop). Keep the object to drive it from code::

        ex = explorer(size=256, steps=100)
        ex                       # show it
        ex.set(beta=100); ex.run()

    All keyword arguments are those of :class:`Explorer`.
    """
    return Explorer(content, style, **kwargs)

