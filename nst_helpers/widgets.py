"""Interactive widgets: the style-transfer explorer and the step-through viewer (views only).

Two entry points, both for a Jupyter notebook::

    from nst_helpers.widgets import explorer
    explorer()                       # the whole app: pick images and weights, press Run

    from nst_helpers.widgets import step_through
    G, history = run_style_transfer(C, S, steps=100, every=5)
    step_through(history, result=G)  # a slider over the snapshots of a finished run

The explorer's state (the setting, the runs, the cache, Stop, Save) lives in an
:class:`~nst_helpers.explorer.ExplorerSession`; the :class:`Explorer` here only turns the
controls into changes of the session and renders the session's run for the setting shown:
one source of truth, so the progress bar, the readout, the caption and the step slider always
show the same count. The session runs the optimisation in a background thread and reports to
the view through a listener (ipywidgets 8 sends widget updates from any thread).

For tests and scripts the :class:`Explorer` object offers the same actions as methods:
``run()`` (blocking), ``run_async()``, ``stop()``, ``wait()``, ``save()``, ``set(beta=...)``, and
the results as attributes (``result``, ``history``, ``cache``, ``cache_hits``, ``runs``).
"""

from __future__ import annotations

import functools
import html
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import ipywidgets as W
import torch

from .config import INIT_MODES
from .errors import ImageLoadError, NSTError, ParameterError
from .explorer import (
    MAX_UPLOAD_MB,
    CachedRun,
    ExplorerSession,
    Run,
    Setting,
    snapshot_every,
)
from .history import History
from .images import load_image
from .vgg import LAYER_NAMES, layer_index
from .viewer import _DESC, StepThrough, _bundle, _png, _prime_plotting, step_through

__all__ = [
    "ALPHA_VALUES",
    "BETA_VALUES",
    "MAX_UPLOAD_MB",
    "SIZE_VALUES",
    "STEP_VALUES",
    "CachedRun",
    "Explorer",
    "StepThrough",
    "explorer",
    "snapshot_every",
    "step_through",
]


def _log_values(lo: int, hi: int) -> tuple[float, ...]:
    """0, then two round stops per decade from 10**lo to 10**hi: 1, 3, 10, 30, ...

    Few stops, so that a mouse can hit each one on a short track (a drag of a few pixels moves
    one stop), and round numbers a student can remember and come back to (which the cache needs).
    """
    values = [float(f"{m * 10.0 ** e:.3g}") for e in range(lo, hi) for m in (1, 3)]
    return (0.0, *values, float(10.0 ** hi))


#: Stops of the alpha slider (0 = no content loss: pure texture synthesis).
ALPHA_VALUES = _log_values(-2, 2)
#: Stops of the beta slider (0 = no style loss: G only reconstructs the content).
BETA_VALUES = _log_values(3, 8)  # DEFAULT_BETA = 3e6 is a stop
#: Image sizes (long side, pixels) the explorer offers.
SIZE_VALUES = (64, 96, 128, 160, 192, 256, 320, 384, 512)
#: Run lengths (objective evaluations) the explorer offers.
STEP_VALUES = (10, 20, 30, 50, 75, 100, 150, 200, 300, 500)
#: Layers offered for the content and style losses: the ReLU outputs (the paper's "convX_Y").
RELU_LAYERS = tuple(n for n in LAYER_NAMES if n.startswith("relu"))

_LABEL = {"lbfgs": "L-BFGS", "adam": "Adam"}
_SLIDER = W.Layout(width="340px")


def _fmt(v: float) -> str:
    return f"{v:g}"



# --------------------------------------------------------------------------- the explorer (a view of a session)
_STATE_COLOURS = {"done": "#1a7f37", "running": "#0b5cad", "starting": "#0b5cad", "stopping": "#9a6700",
                  "stopped": "#9a6700", "failed": "#b00020"}
_BAR_STYLES = {"done": "success", "stopped": "warning", "failed": "danger", "starting": "info", "running": "info",
               "stopping": "info"}
_MESSAGE_COLOURS = {"ok": "#1a7f37", "warning": "#9a6700", "error": "#b00020"}
_PLOT_INTERVAL = 1.5  # seconds between redraws of the loss curves during a run (more if drawing is slow)


class Explorer:
    """The style-transfer explorer: controls, Run/Stop/Save, a live preview, loss curves, a step-through slider.

    Create it with :func:`explorer` (same arguments). The keyword arguments set the starting
    position of the controls (``alpha``, ``beta``, ``steps``, ``size``, ``init``, ``optimizer``,
    ``content_layers``, ``style_layers``; a value between slider stops becomes a stop) and the
    :class:`~nst_helpers.explorer.ExplorerSession` behind them (``every``, ``seed``, ``cache_size``,
    ``cache_mb``, ``max_upload_mb``).

    Parameters
    ----------
    content, style
        A bundled image name (``nst_helpers.bundled_images("content")``), a file path, or an image tensor.
    save_dir
        Folder for Save (default: the working directory at the time of saving, which in Jupyter is
        the notebook's folder).
    warm_up
        Decode the VGG19 weights in the background right away, so that the first Run starts faster.
    """

    def __init__(self, content="grace_hopper", style="swirls", *, save_dir: str | Path | None = None,
                 warm_up: bool = True, **settings) -> None:
        self.session = ExplorerSession(content, style, **settings)
        self.save_dir = None if save_dir is None else Path(save_dir)
        self._lock = threading.RLock()  # the kernel's thread and the run's thread both render
        self._syncing = False
        self._last_plot = self._plot_cost = 0.0
        self._thumbs: dict[tuple[str, str], bytes] = {}
        self.viewer = StepThrough()
        self._build_image_controls()
        self._build_value_controls()
        self._build_layer_controls()
        self._build_actions()
        self.widget = self._layout()
        self.session.subscribe(self._on_session)
        self._render()
        if warm_up:
            threading.Thread(target=self.session.warm_up, args=(_prime_plotting,), name="nst-warm-up",
                             daemon=True).start()

    # ------------------------------------------------------------------ building the controls
    def _build_image_controls(self) -> None:
        s = self.session.setting
        pick = W.Layout(width="214px")
        for kind, letter in (("content", "C"), ("style", "S")):
            dropdown = _tag(W.Dropdown(options=self.session.sources.labels(kind), value=getattr(s, kind),
                                       description=f"{kind} {letter}", style=_DESC, layout=pick), f"nst-{kind}")
            upload = _tag(W.FileUpload(description=f"your own {letter}", accept="image/*", multiple=False,
                                       layout=W.Layout(width="160px", margin="2px 0 0 80px")), f"nst-{kind}-upload")
            thumb = _tag(W.Image(format="png", layout=W.Layout(height="72px", width="96px", object_fit="contain")),
                         f"nst-{kind}-thumb")
            setattr(self, kind, dropdown)
            setattr(self, f"{kind}_upload", upload)
            setattr(self, f"{kind}_thumb", thumb)
            dropdown.observe(functools.partial(self._on_control, kind), "value")
            upload.observe(functools.partial(self._on_upload, kind), "value")
            self._update_thumb(kind)

    def _build_value_controls(self) -> None:
        s = self.session.setting
        self.alpha = _tag(_selection_slider(ALPHA_VALUES, s.alpha, "α content",
                                            "Weight alpha of the content loss (log scale; 0 = off)"), "nst-alpha")
        self.beta = _tag(_selection_slider(BETA_VALUES, s.beta, "β style",
                                           "Weight beta of the style loss (log scale; 0 = off)"), "nst-beta")
        self.steps = _tag(_selection_slider(STEP_VALUES, s.steps, "steps",
                                            "Objective evaluations (forward + backward passes)", int), "nst-steps")
        self.size = _tag(_selection_slider(SIZE_VALUES, s.size, "size", "Long side of G in pixels", int,
                                           lambda v: f"{v} px"), "nst-size")
        toggle = {**_DESC, "button_width": "76px"}
        self.init = _tag(W.ToggleButtons(options=list(INIT_MODES), value=s.init, description="start from",
                                         style=toggle, tooltips=["G starts as the content image",
                                                                 "content + Gaussian noise", "uniform noise"]),
                         "nst-init")
        self.optimizer = _tag(W.ToggleButtons(options=[(v, k) for k, v in _LABEL.items()], value=s.optimizer,
                                              description="optimiser", style=toggle), "nst-optimizer")
        for name in ("alpha", "beta", "steps", "size", "init", "optimizer"):
            getattr(self, name).observe(functools.partial(self._on_control, name), "value")

    def _build_layer_controls(self) -> None:
        s = self.session.setting
        options = sorted(set(RELU_LAYERS) | set(s.content_layers) | set(s.style_layers), key=layer_index)
        for name in ("content_layers", "style_layers"):
            w = _tag(W.SelectMultiple(options=options, value=getattr(s, name), rows=len(options),
                                      layout=W.Layout(width="104px")), f"nst-{name.replace('_', '-')}")
            setattr(self, name, w)
            w.observe(functools.partial(self._on_control, name), "value")
        help_text = W.HTML(
            "<div style='line-height:1.45'>The paper's <i>conv4_2</i> is <code>relu4_2</code> here: Caffe "
            "applied each ReLU in place, so the paper's features are the ReLU outputs.<br><br>"
            "A <b>deeper content layer</b> keeps the layout of C but lets its details go.<br>"
            "<b>Style layers</b> from shallow to deep match colours and fine strokes, then larger motifs.<br><br>"
            "Ctrl/&#8984;-click to pick several.</div>", layout=W.Layout(width="330px"))
        body = W.HBox([W.VBox([W.HTML("<b>content layers</b>"), self.content_layers]),
                       W.VBox([W.HTML("<b>style layers</b>"), self.style_layers]), help_text],
                      layout=W.Layout(grid_gap="14px"))
        self.layers = _tag(W.Accordion(children=[body], selected_index=None), "nst-layers")

    def _build_actions(self) -> None:
        self.run_button = _tag(W.Button(description="Run", icon="play", button_style="primary",
                                        tooltip="Optimise G for this setting (cached settings show at once)"),
                               "nst-run")
        self.stop_button = _tag(W.Button(description="Stop", icon="stop", disabled=True,
                                         tooltip="End the run and keep the best G so far"), "nst-stop")
        self.save_button = _tag(W.Button(description="Save PNG", icon="save",
                                         tooltip="Write the G shown as a new PNG file next to the notebook"),
                                "nst-save")
        self.progress = _tag(W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="220px")), "nst-progress")
        self.progress_label = _tag(W.HTML(layout=W.Layout(min_width="110px")), "nst-progress-label")
        self.readout = _tag(W.HTML(), "nst-readout")
        self.message = _tag(W.HTML(), "nst-message")
        self.run_button.on_click(lambda _b: self.run_async())
        self.stop_button.on_click(lambda _b: self.stop())
        self.save_button.on_click(lambda _b: self.save())

    def _layout(self) -> W.VBox:
        row = W.Layout(align_items="center", grid_gap="6px")

        def box(title, *children):
            return W.VBox([W.HTML(f"<b>{title}</b>"), *children],
                          layout=W.Layout(padding="4px 8px", border="1px solid #e3e3e3"))

        images = box("1. Images",
                     W.HBox([W.VBox([self.content, self.content_upload]), self.content_thumb], layout=row),
                     W.HBox([W.VBox([self.style, self.style_upload]), self.style_thumb], layout=row),
                     W.HTML(f"<small>Upload a PNG or JPEG (at most {_fmt(self.session.max_upload_mb)} MB).</small>"))
        weights = box("2. Loss weights and run length",
                      self.alpha, self.beta, self.steps, self.size, self.init, self.optimizer)
        actions = W.HBox([self.run_button, self.stop_button, self.save_button, self.progress, self.progress_label],
                         layout=row)
        intro = W.HTML(
            "<b>Style-transfer explorer.</b> Choose C, S and the weights, then press <b>Run</b>: "
            "G starts from C and is optimised to minimise &alpha;&middot;L<sub>content</sub> + "
            "&beta;&middot;L<sub>style</sub>; only the ratio &beta;/&alpha; matters. "
            "Every finished setting is cached: move a slider back and its result returns at once.")
        widget = W.VBox([intro, W.HBox([images, weights], layout=W.Layout(grid_gap="8px", flex_flow="row wrap")),
                         self.layers, actions, self.message, self.readout, self.viewer.widget],
                        layout=W.Layout(grid_gap="6px"))
        return _tag(widget, "nst-explorer")

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.widget, "Style-transfer explorer (an interactive widget: run the notebook in Jupyter "
                                    "with a live kernel to use it)", **kwargs)

    # ------------------------------------------------------------------ the session's state, for code
    cache = property(lambda self: self.session.cache, doc="Finished runs by key, most recently used last.")
    cache_hits = property(lambda self: self.session.cache_hits, doc="Runs answered from the cache.")
    runs = property(lambda self: self.session.runs, doc="Optimisations started.")
    running = property(lambda self: self.session.running, doc="True while an optimisation is in progress.")

    @property
    def shown(self) -> Run | None:
        """The run the viewer shows: the one of the controls' setting, else the last run that ended."""
        return self.session.run_for() or self.session.last

    @property
    def last(self) -> Run | None:
        return self.shown

    @property
    def result(self) -> torch.Tensor | None:
        """G of the run shown (the best G of a stopped run)."""
        run = self.shown
        return run.result if run is not None else None

    @property
    def history(self) -> History | None:
        """History of the run shown."""
        run = self.shown
        return run.history if run is not None else None

    @property
    def last_error(self) -> BaseException | None:
        """The exception of the last run, if it failed (its message is shown in the widget)."""
        last = self.session.last
        return last.exception if last is not None else None

    def settings(self) -> dict:
        """The setting of the controls now (images by label, weights, sizes, layers)."""
        return self.session.setting.values()

    def key(self, settings: dict | None = None) -> tuple:
        """Cache key of a setting (default: the controls' setting)."""
        return self.session.key(None if settings is None else Setting(**settings))

    def describe(self, settings: dict | Setting | None = None) -> str:
        """A one-line description of a setting (HTML)."""
        s = settings if isinstance(settings, Setting) else (
            self.session.setting if settings is None else Setting(**settings))
        ratio = "&infin;" if s.alpha == 0 else _fmt(float(f"{s.beta / s.alpha:.3g}"))
        return (f"<b>&beta;/&alpha; = {ratio}</b> (&alpha; = {_fmt(s.alpha)}, &beta; = {_fmt(s.beta)}) &middot; "
                f"{html.escape(s.content)} &times; {html.escape(s.style)} &middot; {s.size} px &middot; "
                f"{s.steps} steps {_LABEL[s.optimizer]} &middot; start: {s.init}")

    # ------------------------------------------------------------------ actions
    def set(self, **params) -> None:
        """Move controls, e.g. ``ex.set(beta=100, steps=50)``; a value between slider stops becomes a stop."""
        self.session.update(**params)
        self._sync_controls()
        self._render()

    def run(self) -> Run | None:
        """Run the current setting here and now (blocks); a cached setting returns at once.

        Returns the :class:`~nst_helpers.explorer.Run`, or None if it failed (the message is in the widget).
        """
        run = self._start(background=False)
        return run if run is not None and run.status != "failed" else None

    def run_async(self) -> threading.Thread | None:
        """Start the current setting in a background thread (what Run does); None on a cache hit."""
        run = self._start(background=True)
        return self.session._thread if run is not None and run is self.session.current else None

    def stop(self) -> None:
        """Ask the running optimisation to end; it keeps the best G so far (what Stop does)."""
        self.session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; False if it is still running after ``timeout`` seconds."""
        return self.session.wait(timeout)

    def save(self, directory: str | Path | None = None) -> Path | None:
        """Write the G shown as a new PNG (never replacing a file); returns its path, or None."""
        current, run = self.viewer.current(), self.shown
        if current is None or run is None:
            self._say("Nothing to save yet: press <b>Run</b> first.", "warning")
            return None
        step, image, is_result = current
        folder = Path(directory) if directory is not None else (self.save_dir or Path.cwd())
        try:
            path, new = self.session.save(run, step, image, is_result, folder)
        except (OSError, NSTError) as exc:
            self._say(f"Could not save: {html.escape(str(exc))}", "error")
            return None
        where = f"<code>{html.escape(path.name)}</code> in {html.escape(str(folder.resolve()))}"
        if new:
            h, w = image.shape[-2:]
            self._say(f"Saved {where} ({w} &times; {h} px).", "ok")
        else:
            self._say(f"This picture is already saved as {where}; nothing new was written.", "ok")
        return path

    def _start(self, background: bool) -> Run | None:
        run = self.session.start(background=background)
        if run is None:
            self._say("A run is in progress: wait for it, or press <b>Stop</b>.", "warning")
        return run

    # ------------------------------------------------------------------ controls -> session
    def _on_control(self, name: str, change) -> None:
        if self._syncing:
            return
        value = change["new"]
        try:
            self.session.update(**{name: tuple(value) if name.endswith("_layers") else value})
        except (ParameterError, ImageLoadError) as exc:
            self._say(html.escape(str(exc)), "error")
        if name in ("content", "style"):
            self._update_thumb(name)
        self._render()

    def _on_upload(self, kind: str, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[-1] if isinstance(files, (tuple, list)) else next(iter(files.values()))
        name = str(f.get("name", "upload"))
        try:
            label = self.session.sources.add_upload(kind, name, bytes(f["content"]), self.session.max_upload_mb)
        except ImageLoadError as exc:
            self._say(f"Upload refused: {html.escape(str(exc))}", "error")
            return
        except Exception as exc:  # never a traceback for a bad file
            self._say(f"Upload refused: could not read '{html.escape(name)}' ({type(exc).__name__}: "
                      f"{html.escape(str(exc))}).", "error")
            return
        self.set(**{kind: label})
        self._update_thumb(kind)
        h, w = self.session.sources.images[kind][label].shape[-2:]
        self._say(f"Uploaded <code>{html.escape(name)}</code> ({w} &times; {h} px) as the {kind} image "
                  f"'{html.escape(label)}' (your upload {self.session.sources.uploads[kind]} of a {kind} image).",
                  "ok")

    def _sync_controls(self) -> None:
        """Move every control to the session's setting (adding slider stops and dropdown entries as needed)."""
        s = self.session.setting
        self._syncing = True
        try:
            for kind in ("content", "style"):
                w = getattr(self, kind)
                if list(w.options) != self.session.sources.labels(kind):
                    w.options = self.session.sources.labels(kind)
                w.value = getattr(s, kind)
            for name in ("alpha", "beta", "steps", "size"):
                _ensure_stop(getattr(self, name), getattr(s, name))
                getattr(self, name).value = getattr(s, name)
            self.init.value, self.optimizer.value = s.init, s.optimizer
            for name in ("content_layers", "style_layers"):
                w = getattr(self, name)
                missing = set(getattr(s, name)) - set(w.options)
                if missing:
                    w.options = sorted({*w.options, *missing}, key=layer_index)
                w.value = getattr(s, name)
        finally:
            self._syncing = False
        for kind in ("content", "style"):
            self._update_thumb(kind)

    # ------------------------------------------------------------------ session -> view
    def _on_session(self, event: str, run: Run) -> None:
        shown = run.key == self.session.key()
        if event == "started":
            self.message.value = ""
        elif event == "ended" and run.status == "failed":
            self._say(f"The run failed: {html.escape(run.error or '')}", "error")
        elif event == "ended" and not shown:
            self._say(f"The run for {self.describe(run.setting)} has finished and is cached; move the controls "
                      "back to see it.", "ok")
        elif event == "ended" and run.history is not None and run.history.stopped == "non-finite loss":
            self._say("The loss became NaN or infinite; the best finite G is shown. Lower &beta; or change the "
                      "optimiser.", "warning")
        if shown or event in ("started", "ended"):
            self._render(plot_due=event != "progress")

    def _render(self, plot_due: bool = True) -> None:
        """Draw the session's state: buttons, progress, readout and viewer, all from the one run shown."""
        with self._lock:
            s = self.session.setting
            run = self.session.run_for(s)
            current = self.session.current
            self.run_button.disabled = current is not None
            stoppable = current is not None and current.status in ("starting", "running")
            self.stop_button.disabled = not stoppable
            self.stop_button.button_style = "warning" if stoppable else ""  # a disabled Stop looks disabled
            done = run.steps_done if run is not None else 0
            self.progress.max = s.steps
            self.progress.value = min(done, s.steps)
            self.progress.bar_style = _BAR_STYLES.get(run.status, "") if run is not None else ""
            self.progress_label.value = f"{done} / {s.steps} steps"
            state = self._state_text(s, run)
            colour = _STATE_COLOURS.get(run.status if run is not None else "", "#555")
            self.readout.value = (f"<div style='font-size:13px;line-height:1.6'>Setting: {self.describe(s)}<br>"
                                  f"<span class='nst-state' style='color:{colour}'>{state}</span></div>")
            self._render_viewer(s, run, plot_due)
            self.layers.set_title(0, f"3. VGG19 layers: content {', '.join(s.content_layers) or 'none'} | style "
                                     f"{', '.join(s.style_layers) or 'none'} (click to change)")

    def _state_text(self, s: Setting, run: Run | None) -> str:
        if run is None:
            busy = " (after the run in progress ends)" if self.session.running else ""
            return f"not run yet: press <b>Run</b>{busy}"
        h, done = run.history, run.steps_done
        if run.status == "starting":
            return "starting: loading the images and VGG19 &hellip;"
        if run.status == "running":
            return f"running: {done} / {s.steps} steps &middot; {time.perf_counter() - run.clicked:.1f} s"
        if run.status == "stopping":
            return f"stopping at {done} / {s.steps} steps: finishing the current evaluations &hellip;"
        if run.status == "failed":
            return f"failed: {html.escape(run.error or '')}"
        if run.status == "stopped":
            return (f"stopped at {done} / {s.steps} steps &middot; kept the best G (evaluation {h.best_step}) "
                    "&middot; not cached: press Run to run it fully")
        return (f"done: {done} steps in {run.seconds:.1f} s (optimisation {h.seconds:.1f} s) &middot; result = "
                f"best G, evaluation {h.best_step}")

    def _render_viewer(self, s: Setting, run: Run | None, plot_due: bool) -> None:
        if run is None or run.history is None or not run.history.snapshots:
            what = "starting" if run is not None and not run.finished else "press Run to start G from it"
            self._show_placeholder(s, what)
            return
        now = time.perf_counter()
        plot = plot_due or run.finished or now - self._last_plot > max(_PLOT_INTERVAL, 4 * self._plot_cost)
        self.viewer.set_history(run.history, run.result if run.finished else None, title=self.describe(run.setting),
                                live=not run.finished, run_id=id(run), plot=plot)
        if plot:
            self._last_plot = time.perf_counter()
            self._plot_cost = self._last_plot - now

    def _show_placeholder(self, s: Setting, what: str) -> None:
        try:
            png = _png(load_image(self.session.sources.images["content"][s.content], s.size))
        except Exception:
            png = None
        self.viewer.show_placeholder(png, f"<b>C = {html.escape(s.content)}</b> at {s.size} px &middot; {what}")

    def _say(self, text: str, level: str = "ok") -> None:
        self.message.value = f"<span style='color:{_MESSAGE_COLOURS.get(level, '#333')}'>{text}</span>"

    def _update_thumb(self, kind: str) -> None:
        label = getattr(self.session.setting, kind)
        if (kind, label) not in self._thumbs:
            try:
                self._thumbs[(kind, label)] = _png(load_image(self.session.sources.images[kind][label], 112))
            except Exception:
                self._thumbs[(kind, label)] = b""
        getattr(self, f"{kind}_thumb").value = self._thumbs[(kind, label)]


# --------------------------------------------------------------------------- helpers
def _tag(widget: W.Widget, css_class: str) -> W.Widget:
    widget.add_class(css_class)
    return widget


def _selection_slider(values: Sequence, value, description: str, tooltip: str, kind=float,
                      label=_fmt) -> W.SelectionSlider:
    values = sorted({kind(v) for v in values} | {kind(value)})
    slider = W.SelectionSlider(options=[(label(v), v) for v in values], value=kind(value), description=description,
                               continuous_update=False, style=_DESC, layout=_SLIDER, tooltip=tooltip)
    slider._label = label  # how _ensure_stop names a new stop
    return slider


def _ensure_stop(slider: W.SelectionSlider, value) -> None:
    values = [v for _, v in slider.options]
    if value not in values:
        current = slider.value
        slider.options = [(slider._label(v), v) for v in sorted({*values, value})]
        slider.value = current


def explorer(content="grace_hopper", style="swirls", **kwargs) -> Explorer:
    """Open the style-transfer explorer (a notebook shows it when it is the cell's last value).

    ``explorer()`` starts with Grace Hopper, the swirl painting, beta = DEFAULT_BETA (3e6),
    EXPLORER_SIZE (128) px and EXPLORER_STEPS (50) L-BFGS steps (a few seconds per run on a laptop).
    Keep the object to drive it from code::

        ex = explorer(size=256, steps=100)
        ex                       # show it
        ex.set(beta=100); ex.run()

    All keyword arguments are those of :class:`Explorer`.
    """
    return Explorer(content, style, **kwargs)
