"""run_style_transfer end to end on small images with the real weights."""

from __future__ import annotations

import math

import pytest
import torch

import nst_helpers.transfer as transfer
from nst_helpers import ParameterError, load_image, run_style_transfer
from nst_helpers.images import bundled_image

# The mechanics of the optimisation on the paper's objective (equal layer weights, one scale, no TV);
# the package's defaults (balanced weights, coarse-to-fine, TV) have tests of their own.
FAST = dict(progress=False, size=None, style_layer_weights="equal", tv_weight=0.0)


def test_64px_run_lowers_total_loss_by_half(content64, style64):
    G, h = run_style_transfer(content64, style64, steps=30, **FAST)
    assert h.steps == 30 and h.stopped is None
    assert h.total[-1] < 0.5 * h.total[0], f"loss fell only from {h.total[0]:.4g} to {h.total[-1]:.4g}"
    assert G.shape == content64.shape and 0 <= G.min() and G.max() <= 1
    assert not torch.equal(G, content64), "G must move away from C"
    for name, values in h.layers.items():
        assert len(values) == 30, name


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
@pytest.mark.parametrize("steps, every", [(7, 3), (10, 10), (5, 50)])
def test_exactly_steps_evaluations(content64, style64, optimizer, steps, every):
    _, h = run_style_transfer(content64, style64, steps=steps, every=every, optimizer=optimizer,
                              style_layers=["relu1_1", "relu2_1"], content_layers=["relu2_2"], **FAST)
    assert h.steps == steps, f"asked for {steps} evaluations, got {h.steps} (overshoot or early stop)"
    marks = [s for s, _ in h.snapshots]
    if optimizer == "adam":
        expected = [0, *range(every, steps, every), steps] if steps % every else [0, *range(every, steps + 1, every)]
        assert marks == expected
    else:  # L-BFGS stops a call only after a whole iteration (line search), so gaps are >= every
        assert marks[0] == 0 and marks[-1] == steps
        assert all(b - a >= every for a, b in zip(marks[:-1], marks[1:-1])), marks


def test_same_seed_same_result_and_seed_matters(content64, style64):
    kw = dict(steps=8, init="noise", **FAST)
    a, _ = run_style_transfer(content64, style64, seed=3, **kw)
    b, _ = run_style_transfer(content64, style64, seed=3, **kw)
    c, _ = run_style_transfer(content64, style64, seed=4, **kw)
    assert torch.equal(a, b), "same seed and inputs must give the same G on the CPU"
    assert not torch.equal(a, c), "another seed must give another noise init"


def test_init_modes(content64, style64):
    for init in ("content", "noise", "random"):
        _, h = run_style_transfer(content64, style64, steps=1, init=init, **FAST)
        start = h.snapshots[0][1]
        if init == "content":
            torch.testing.assert_close(start, content64)
        else:
            assert (start - content64).abs().mean() > 0.01
    _, h = run_style_transfer(content64, style64, steps=1, init=torch.zeros(1, 3, 20, 20), **FAST)
    assert h.snapshots[0][1].shape == content64.shape and h.snapshots[0][1].abs().max() == 0


def test_style_alone_and_content_alone(content64, style64):
    _, h = run_style_transfer(content64, style64, alpha=0, beta=1, steps=3, init="random", **FAST)
    assert list(h.layers) == [f"style_{n}" for n in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")]
    _, h = run_style_transfer(content64, style64, alpha=1, beta=0, steps=3, init="random", **FAST)
    assert list(h.layers) == ["content_relu4_2"] and all(v == 0 for v in h.style)


def test_style_is_resized_to_content_pixel_count(monkeypatch, content64):
    seen = {}
    real = transfer.build_model

    def spy(C, S, **kw):
        seen["C"], seen["S"] = C.shape, S[0].shape
        return real(C, S, **kw)

    monkeypatch.setattr(transfer, "build_model", spy)
    run_style_transfer(content64, torch.rand(1, 3, 200, 100), steps=1, **FAST)
    h, w = seen["S"][-2:]
    assert abs(h * w - 48 * 64) <= 0.05 * 48 * 64 and h == 2 * w, f"style resized to {h} x {w}"


def test_callback_can_stop_and_sees_snapshots(content64, style64):
    calls = []

    def cb(step, G, history):
        calls.append(step)
        return step >= 4

    G, h = run_style_transfer(content64, style64, steps=20, every=2, callback=cb, **FAST)
    assert len(calls) == 2 and calls[0] >= 2 and calls[1] >= 4 and h.stopped == "callback" and h.steps == calls[1]


def test_keyboard_interrupt_keeps_best_image(content64, style64):
    def cb(step, G, history):
        if step == 6:
            raise KeyboardInterrupt

    G, h = run_style_transfer(content64, style64, steps=50, every=3, callback=cb, optimizer="adam", **FAST)
    assert h.stopped == "interrupted" and h.steps == 6
    assert h.best_step >= 1 and h.best_loss == min(h.total)


def test_nan_loss_stops_with_warning_and_returns_finite_image(monkeypatch, content64, style64):
    calls = {"n": 0}
    real_tv = transfer.tv_loss

    def faulty_tv(img):
        calls["n"] += 1
        value = real_tv(img)
        return value * float("nan") if calls["n"] > 4 else value

    monkeypatch.setattr(transfer, "tv_loss", faulty_tv)
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        G, h = run_style_transfer(content64, style64, steps=30, every=3, optimizer="adam", **{**FAST, "tv_weight": 1.0})
    assert h.stopped == "non-finite loss" and h.steps == 6
    assert torch.isfinite(G).all() and h.best_step <= 4 and math.isfinite(h.best_loss)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(alpha=-1), "alpha must be a finite number >= 0"),
        (dict(beta=float("nan")), "beta must be a finite"),
        (dict(beta=float("inf")), "beta must be a finite"),
        (dict(alpha=0, beta=0), "both 0"),
        (dict(steps=0), "steps must be a whole number >= 1"),
        (dict(steps=2.5), "steps must be a whole number"),
        (dict(init="zeros"), "Unknown init"),
        (dict(optimizer="sgd"), "Unknown optimizer"),
        (dict(device="tpu"), "Unknown device"),
        (dict(content_layers=[]), "no content layers"),
        (dict(style_layers=[], alpha=1, beta=1), "no style layers"),
        (dict(style_layer_weights=[1.0]), "one weight per layer"),
        (dict(size=0), "positive"),
    ],
)
def test_bad_parameters_fail_early_with_clear_messages(content64, style64, kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        run_style_transfer(content64, style64, **{**FAST, **kwargs})


def test_unavailable_cuda_is_a_clear_error(content64, style64):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so asking for it is not an error here")
    with pytest.raises(ParameterError, match="no CUDA GPU"):
        run_style_transfer(content64, style64, device="cuda", **FAST)


def test_real_images_are_visibly_stylised():
    C = load_image(bundled_image("coffee"), 64)
    S = bundled_image("swirls", "style")
    G, h = run_style_transfer(C, S, steps=40, **FAST)
    style_drop = h.style[-1] / h.style[0]
    assert style_drop < 0.2, f"style loss should fall by 5x in 40 steps, fell to {style_drop:.2%}"
    assert (G - C).abs().mean() > 0.03, "G should visibly differ from C"


def test_first_evaluation_equals_a_plain_float32_forward(content64, style64):
    """The channels-last layout inside run_style_transfer is a speed trick only: L(C) is the textbook value."""
    from nst_helpers import build_model

    _, h = run_style_transfer(content64, style64, steps=1, **FAST)
    from nst_helpers.images import resize_to

    S = resize_to(style64, transfer._style_size(tuple(content64.shape[-2:]), tuple(style64.shape[-2:]), 1.0))
    model, cl, sl = build_model(content64, S)  # contiguous NCHW, float32, S resized as run_style_transfer does
    with torch.no_grad():
        model(content64.clone())
    alpha, beta = transfer.default_weights("caffe", "equal")
    expected = alpha * cl[0].loss + beta * sum(s.loss for s in sl) / len(sl)
    assert h.total[0] == pytest.approx(float(expected), rel=1e-4), (
        f"the first loss of run_style_transfer ({h.total[0]:.6g}) should equal the plain forward pass "
        f"({float(expected):.6g}); a memory-layout change must not change the objective")


def test_balanced_weights_put_the_photo_at_style_loss_one(content64, style64):
    """Balanced layer weights w_l = 1 / (L E_l(C, S)): the photo's style loss is 1, every layer's share 1/L."""
    _, h = run_style_transfer(content64, style64, steps=1, **{**FAST, "style_layer_weights": "balanced"})
    assert h.style[0] == pytest.approx(1.0, rel=1e-4)
    assert h.total[0] == pytest.approx(transfer.DEFAULT_BETA, rel=1e-4), "G = C: no content loss, L = beta * 1"
    w = h.settings["style_layer_weights"]
    shares = [wl * h.layers[f"style_{n}"][0] for wl, n in zip(w, h.settings["style_layers"])]
    assert shares == pytest.approx([0.2] * 5, rel=1e-4), shares
    _, eq = run_style_transfer(content64, style64, steps=1, **FAST)
    raw = [eq.layers[f"style_{n}"][0] for n in eq.settings["style_layers"]]
    assert max(raw) / min(raw) > 100, "the reason for balancing: raw E_l differ by orders of magnitude"


def test_bfloat16_is_close_to_float32_and_recorded(content64, style64):
    from nst_helpers import build_model

    g32, h32 = run_style_transfer(content64, style64, steps=20, **FAST)
    g16, h16 = run_style_transfer(content64, style64, steps=20, precision="bfloat16", **FAST)
    assert h32.settings["precision"] == "float32" and h16.settings["precision"] == "bfloat16"
    assert g16.dtype == torch.float32, "G stays float32 whatever the precision of the forward pass"
    from nst_helpers.images import resize_to

    S = resize_to(style64, transfer._style_size(tuple(content64.shape[-2:]), tuple(style64.shape[-2:]), 1.0))
    model, cl, sl = build_model(content64, S)  # the float32 objective both runs minimised

    def objective(G):
        with torch.no_grad():
            model(G)
        beta = h32.settings["beta"]
        return float(cl[0].loss + beta * sum(w * s.loss for w, s in zip(h32.settings["style_layer_weights"], sl)))

    start, l32, l16 = objective(content64), objective(g32), objective(g16)
    assert l16 < 0.5 * start, f"a bfloat16 run should still optimise: {start:.4g} -> {l16:.4g}"
    assert l16 < 1.25 * l32, f"bfloat16 result scores {l16:.4g} in float32, float32 result {l32:.4g}"


def test_precision_names_are_checked(content64, style64):
    assert transfer.resolve_precision("auto", torch.device("cpu")) in ("float32", "bfloat16")
    assert transfer.resolve_precision("float32", torch.device("cpu")) == "float32"
    with pytest.raises(ParameterError, match="Unknown precision 'half'"):
        run_style_transfer(content64, style64, precision="half", **FAST)


def test_fast_path_starts_from_the_same_objective(content64, style64):
    _, exact = run_style_transfer(content64, style64, steps=1, **FAST)
    _, fast = run_style_transfer(content64, style64, steps=1, precision="auto", **FAST)
    assert fast.total[0] == pytest.approx(exact.total[0], rel=2e-2), (
        f"precision='auto' starts at {fast.total[0]:.6g}, float32 at {exact.total[0]:.6g}: the fast path "
        "may round differently but must compute the same objective")


def test_defaults_go_coarse_to_fine_within_the_budget():
    """``scales="auto"``: 128 -> 256 for a 256 px render, half the evaluations per finer scale, exact budget."""
    from nst_helpers import bundled_image

    C = load_image(bundled_image("chelsea"), 256)
    S = load_image(bundled_image("swirls", "style"))
    seen = []
    G, h = run_style_transfer(C, S, steps=6, every=1, progress=False, optimizer="adam",
                              callback=lambda step, g, hist: seen.append((step, max(g.shape[-2:]))))
    assert h.settings["scales"] == [128, 256] and h.steps == 6 and max(G.shape[-2:]) == 256
    assert [side for _, side in seen] == [128] * 4 + [256] * 2, seen
    assert transfer.stage_steps(300, 3) == [171, 85, 44] and sum(transfer.stage_steps(7, 3)) == 7
    _, one = run_style_transfer(C, S, steps=1, progress=False)  # one evaluation: one stage, at the full size
    assert one.settings["scales"] is None and one.settings["size"] == tuple(C.shape[-2:])
    assert h.settings["tv_weight"] == pytest.approx(transfer.DEFAULT_TV_PER_BETA * h.settings["beta"])
