"""The step-through viewer: a slider over the snapshots of a run, G at iteration k, its losses and curves.

::

    from nst_helpers.viewer import step_through      # also in nst_helpers.widgets
    G, history = run_style_transfer(C, S, steps=100, every=5)
    step_through(history, result=G)

It renders a :class:`~nst_helpers.history.History` and nothing else: the explorer
(:mod:`nst_helpers.widgets`) shows its runs in one, live while they run.
"""

from __future__ import annotations

import functools
import io
import threading
import weakref
from collections import OrderedDict

import ipywidgets as W
import torch

from .config import DEFAULT_BETA
from .history import History
from .images import to_pil

__all__ = ["StepThrough", "step_through"]

_DESC = {"description_width": "76px"}
# matplotlib's font and text caches are process-wide and not thread-safe: one figure is drawn at a time.
_RENDER_LOCK = threading.Lock()


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


def _prime_plotting() -> None:
    """Draw one small loss plot: fonts, log ticks and mathtext are set up before the first run needs them."""
    _loss_plot_png(History(total=[3.0, 2.0, 1.0], content=[0.0, 1.0, 0.5], style=[0.1, 0.03, 0.02],
                           settings={"alpha": 1.0, "beta": DEFAULT_BETA}), 2)


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
        step, _ = self.history.snapshot_at(k)
        self.slider.value = max(i for i, (s, _) in enumerate(self.history.snapshots) if s == step)

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


def _bundle(widget: W.Widget, text: str, **kwargs) -> dict:
    """The widget's display data with a short plain-text stand-in (what a static page shows)."""
    data = widget._repr_mimebundle_(**kwargs)
    if isinstance(data, tuple):  # (data, metadata)
        return ({**data[0], "text/plain": text}, data[1])
    return {**data, "text/plain": text}
