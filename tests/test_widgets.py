"""The explorer and the step-through viewer, driven in-process (no browser), with the real VGG19 weights.

Runs are tiny (64 px, a few evaluations) so the whole file takes seconds on two cores.
"""

from __future__ import annotations

import datetime
import io
import os
import stat
import time

import numpy as np
import pytest
import torch
from PIL import Image

import nst_helpers.explorer as session_module
from nst_helpers import run_style_transfer
from nst_helpers.images import bundled_image
from nst_helpers.widgets import Explorer, _png, explorer, step_through

SMALL = dict(size=64, steps=6, warm_up=False)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def upload_value(name: str, data: bytes, mime: str = "application/octet-stream") -> tuple[dict, ...]:
    """What ipywidgets 8's FileUpload puts in ``.value`` after a browser upload."""
    return ({"name": name, "type": mime, "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


@pytest.fixture(scope="module")
def ran():
    """An explorer that has done one run by its Run button (beta = 1e6), counting optimisations."""
    calls = []
    original = session_module.run_style_transfer

    def counting(content, style, config, **kwargs):
        calls.append(config.beta)
        return original(content, style, config, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_module, "run_style_transfer", counting)
        ex = Explorer(**SMALL)
        before = ex.viewer.image.value
        previews = []
        ex.viewer.image.observe(lambda c: previews.append(bytes(c["new"])), "value")
        ex.set(beta=1e6)
        t0 = time.perf_counter()
        ex.run_button.click()  # what the browser's click does: starts a background thread
        assert ex.running
        assert ex.wait(300), "the run did not finish within 300 s"
        seconds = time.perf_counter() - t0
        yield dict(ex=ex, before=before, previews=previews, calls=calls, seconds=seconds)


def test_run_button_updates_preview_progress_and_history(ran):
    ex = ran["ex"]
    assert ran["calls"] == [1e6]
    assert not ex.running and ex.last_error is None
    assert ex.history.steps == 6 and ex.history.stopped is None
    assert ex.history.settings["beta"] == 1e6
    assert ex.history.total[-1] < ex.history.total[0]  # the optimisation made progress
    assert ex.progress.value == 6 and ex.progress.max == 6
    # the preview changed from the placeholder (C) to the result, and it was live during the run
    assert ex.viewer.image.value != ran["before"]
    assert ex.viewer.image.value == _png(ex.result)
    assert len(set(ran["previews"])) >= 3, "the preview should update during the run, not only at the end"
    state = ex.readout.value
    assert "&beta; = 1e+06" in state and "done: 6 steps" in state
    assert ex.run_button.disabled is False and ex.stop_button.disabled is True
    assert bytes(ex.viewer.losses.value).startswith(b"\x89PNG")  # the loss curves


def test_second_identical_run_is_a_cache_hit(ran):
    ex = ran["ex"]
    runs, hits = ex.runs, ex.cache_hits
    result = ex.result
    t0 = time.perf_counter()
    ex.run_button.click()
    assert time.perf_counter() - t0 < 1.0
    assert ex.wait(1)
    assert ran["calls"] == [1e6], "a cached setting must not optimise again"
    assert ex.runs == runs and ex.cache_hits == hits + 1
    assert ex.result is result
    assert ex.run() is ex.cache[ex.key()]  # the blocking form hits the cache too
    assert ex.cache_hits == hits + 2


def test_returning_to_a_setting_shows_its_result_at_once(ran):
    ex = ran["ex"]
    shown = ex.viewer.image.value
    ex.set(beta=3e6)
    assert "not run yet" in ex.readout.value and "&beta; = 3e+06" in ex.readout.value
    t0 = time.perf_counter()
    ex.set(beta=1e6)
    assert time.perf_counter() - t0 < 2.0
    assert "done: 6 steps" in ex.readout.value and "&beta; = 1e+06" in ex.readout.value
    assert ex.viewer.image.value == shown
    assert ran["calls"] == [1e6]


def test_step_slider_in_the_explorer_shows_snapshot_and_losses(ran):
    ex = ran["ex"]
    h = ex.history
    k = h.snapshots[2][0]
    ex.viewer.show_step(k)
    assert ex.viewer.step == k
    assert ex.viewer.image.value == _png(h.snapshots[2][1])
    assert f"L = {h.total[k - 1]:.3g}" in ex.viewer.info.value
    ex.viewer.slider.value = ex.viewer.slider.max  # back to the end: the result again
    assert ex.viewer.image.value == _png(ex.result)


def test_save_writes_new_png_and_never_overwrites(ran, tmp_path):
    ex = ran["ex"]
    ex.save_dir = tmp_path
    old_umask = os.umask(0o022)
    try:
        stem = "nst_grace_hopper_swirls_b1e+06"
        # a file that already has the first name is left alone; the next free number is taken
        blocker = tmp_path / f"{stem}_001.png"
        blocker.write_bytes(b"not mine")
        ex.save_button.click()
        first = tmp_path / f"{stem}_002.png"
        assert first.exists() and blocker.read_bytes() == b"not mine"
        assert "Saved" in ex.message.value and first.name in ex.message.value
        assert stat.S_IMODE(first.stat().st_mode) == 0o644, "a saved picture gets the umask's mode, not 0600"
        # saving the same picture again writes nothing new and says where it is
        ex.save_button.click()
        assert sorted(p.name for p in tmp_path.glob("*.png")) == [blocker.name, first.name]
        assert "already saved" in ex.message.value and first.name in ex.message.value
        assert ex.save() == first
        with Image.open(first) as im:
            assert im.size == (ex.result.shape[-1], ex.result.shape[-2])
            saved = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)[None] / 255
        torch.testing.assert_close(saved, ex.result, atol=1 / 255 + 1e-6, rtol=0)
        # a snapshot chosen on the step slider is saved under its iteration
        k = ex.history.snapshots[1][0]
        ex.viewer.show_step(k)
        snap = ex.save()
        assert snap.name == f"{stem}_it{k}_001.png"
        # a saved file that was deleted is written again
        first.unlink()
        ex.viewer.slider.value = ex.viewer.slider.max
        assert ex.save() == first and first.exists()
    finally:
        os.umask(old_umask)
        ex.viewer.slider.value = ex.viewer.slider.max
        ex.save_dir = None


def test_stop_keeps_the_best_g_so_far(tmp_path):
    ex = Explorer(size=64, steps=300, every=1, warm_up=False)
    thread = ex.run_async()
    assert thread is not None and ex.stop_button.disabled is False
    deadline = time.monotonic() + 240
    while ex.progress.value < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ex.progress.value >= 3, "no progress within 240 s"
    assert ex.run_async() is None and "in progress" in ex.message.value  # one run at a time
    assert ex.runs == 1
    ex.stop_button.click()
    assert ex.wait(120), "Stop did not end the run within 120 s"
    h = ex.history
    assert h.stopped == "callback" and 3 <= h.steps < 300
    best = min(range(h.steps), key=lambda i: h.total[i])
    assert h.best_step == best + 1 and h.best_loss == pytest.approx(h.total[best])
    # the kept G really is the best one: its loss, evaluated afresh, is the best loss of the run (up to
    # clipping to [0, 1]: the line search may have evaluated a point slightly outside)
    _, check = run_style_transfer(bundled_image("grace_hopper"), bundled_image("swirls", "style"), size=64,
                                  steps=1, init=ex.result, progress=False)
    assert check.total[0] == pytest.approx(h.best_loss, rel=1e-2)
    assert ex.viewer.image.value == _png(ex.result)
    assert "stopped at" in ex.readout.value
    assert ex.key() not in ex.cache, "a stopped run is not a finished result"
    assert ex.run_button.disabled is False and ex.stop_button.disabled is True


def test_non_image_upload_gives_a_message_not_a_traceback():
    ex = Explorer(**SMALL)
    options = list(ex.content.options)
    ex.content_upload.value = upload_value("notes.txt", b"these are my lecture notes\n", "text/plain")
    assert "Upload refused" in ex.message.value and "not an image" in ex.message.value
    assert list(ex.content.options) == options and ex.content.value == "grace_hopper"
    # a truncated PNG is refused the same way
    good = png_bytes(Image.new("RGB", (40, 30), (200, 30, 30)))
    ex.style_upload.value = upload_value("broken.png", good[: len(good) // 2], "image/png")
    assert "Upload refused" in ex.message.value
    assert ex.style.value == "swirls"


def test_oversized_upload_is_refused_with_the_limit():
    ex = Explorer(max_upload_mb=0.001, **SMALL)  # 1 kB
    big = png_bytes(Image.effect_noise((64, 64), 60).convert("RGB"))
    assert len(big) > 1000
    ex.content_upload.value = upload_value("big.png", big, "image/png")
    assert "Upload refused" in ex.message.value and "limit is 0.001 MB" in ex.message.value
    assert ex.content.value == "grace_hopper"


def test_image_upload_becomes_a_choice():
    ex = Explorer(**SMALL)
    thumb = ex.style_thumb.value
    data = png_bytes(Image.new("RGB", (80, 60), (20, 120, 220)))
    ex.style_upload.value = upload_value("my painting.png", data, "image/png")
    assert ex.style.value == "my painting"
    assert "Uploaded" in ex.message.value
    assert ex.style_thumb.value != thumb
    assert ex.key()[1].startswith("upload:")
    # the upload button keeps its file, so it counts it: "your own S (1)", and the message counts uploads
    assert len(ex.style_upload.value) == 1 and "upload 1 of a style image" in ex.message.value
    other = png_bytes(Image.new("RGB", (60, 80), (220, 120, 20)))
    ex.style_upload.value = upload_value("second.png", other, "image/png")
    assert ex.style.value == "second" and "upload 2 of a style image" in ex.message.value


def test_failed_run_shows_its_message():
    ex = Explorer(**SMALL)
    ex.set(alpha=0, beta=0)
    assert ex.run() is None
    assert "nothing to optimise" in ex.message.value
    assert "failed" in ex.readout.value
    assert not ex.running and ex.run_button.disabled is False


def test_standalone_step_through_shows_snapshot_and_losses_at_k():
    G, h = run_style_transfer(bundled_image("grace_hopper"), bundled_image("swirls", "style"), size=64, steps=8,
                              every=2, progress=False)
    viewer = step_through(h, result=G)
    steps = [s for s, _ in h.snapshots]
    assert viewer.steps == steps and len(steps) >= 3 and steps[0] == 0
    assert viewer.image.value == _png(G)  # opens at the end, on the result, with the result's losses
    assert "of the result" in viewer.info.value and f"L = {h.best_loss:.3g}" in viewer.info.value
    k1, k2 = steps[1], steps[2]
    viewer.show_step(k1)
    assert viewer.slider.value == 1 and viewer.step == k1
    assert viewer.image.value == _png(h.snapshots[1][1])
    info = viewer.info.value
    assert f"L = {h.total[k1 - 1]:.3g}" in info
    assert f"L_content = {h.content[k1 - 1]:.3g}" in info and f"L_style = {h.style[k1 - 1]:.3g}" in info
    assert f"k = {k1}" in viewer.step_label.value
    curve_at_k1 = bytes(viewer.losses.value)
    viewer.show_step(k2)
    assert viewer.image.value == _png(h.snapshots[2][1])
    assert bytes(viewer.losses.value) != curve_at_k1  # the marker moved
    assert f"L = {h.total[k2 - 1]:.3g}" in viewer.info.value
    viewer.show_step(0)  # the start: G_0 = C, with the losses of the first evaluation
    assert viewer.image.value == _png(h.snapshots[0][1]) and f"L = {h.total[0]:.3g}" in viewer.info.value


def test_explorer_function_and_display():
    ex = explorer(**SMALL)
    bundle = ex._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Style-transfer explorer")  # a static page shows this, not a widget repr
    for cls in ("nst-readout", "nst-preview", "nst-beta", "nst-run"):
        assert any(cls in w._dom_classes for w in _walk(ex.widget)), cls


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_every_view_shows_the_same_count_during_a_run_and_changing_images_clears_the_old_run():
    ex = Explorer(size=64, steps=8, every=1, warm_up=False)
    seen = []

    def after_the_view_rendered(event, run):  # subscribed after the view: it sees what the view drew
        if event == "progress":
            seen.append((run.steps_done, ex.progress.value, ex.progress_label.value, ex.readout.value,
                         ex.viewer.step_label.value, ex.viewer.caption.value, ex.stop_button.button_style))

    ex.session.subscribe(after_the_view_rendered)
    assert ex.stop_button.disabled and ex.stop_button.button_style == "", "a disabled Stop must look disabled"
    ex.run()
    assert len(seen) >= 4
    for done, bar, label, readout, step_label, caption, stop_style in seen:
        assert bar == done and label.startswith(f"{done} / 8")
        assert f"running: {done} / 8 steps" in readout
        assert f"k = {done}</b>" in step_label and f"G at iteration {done}" in caption
        assert stop_style == "warning"  # enabled while running
    assert ex.progress.value == 8 and ex.progress.bar_style == "success"
    # another photo: the old preview, progress and readout go; the placeholder of the new C shows
    ex.set(content="chelsea")
    assert ex.progress.value == 0 and ex.progress.bar_style == "" and "0 / 8 steps" in ex.progress_label.value
    assert "not run yet" in ex.readout.value and ex.viewer.history is None
    assert "C = chelsea" in ex.viewer.caption.value
    ex.set(content="grace_hopper")  # and back: the cached run returns
    assert ex.progress.value == 8 and "done: 8 steps" in ex.readout.value and ex.viewer.history is not None


def test_sliders_have_few_round_stops_a_mouse_can_hit():
    from nst_helpers import DEFAULT_BETA
    from nst_helpers.widgets import BETA_VALUES, STEP_VALUES

    ex = Explorer(**SMALL)
    assert DEFAULT_BETA in BETA_VALUES and 50 in STEP_VALUES
    for slider in (ex.alpha, ex.beta, ex.steps, ex.size):
        assert len(slider.options) <= 13, (slider.description, len(slider.options))
        assert int(slider.layout.width.removesuffix("px")) >= 300
    ex.set(beta=2e6)  # a value between stops becomes a stop, and the slider shows it
    assert ex.beta.value == 2e6 and ex.session.setting.beta == 2e6
    ex.set(style_layers=["relu2_1", "relu1_1"])  # the layers' title follows the setting
    assert ex.layers.get_title(0) == "3. VGG19 layers: content relu4_2 | style relu1_1, relu2_1 (click to change)"
