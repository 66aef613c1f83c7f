"""Issue 16: nothing a user makes is ever lost or destroyed, and every failure says what happened.

One section per item of the issue, in its order; the command line runs in this process (``cli.main``)
except where a real signal must reach a real process. Real VGG19 weights, tiny images, few steps.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst_helpers import (
    ImageLoadError,
    OutputError,
    OutputExistsError,
    ParameterError,
    ResourceError,
    WeightsError,
    load_image,
    load_vgg19,
    run_style_transfer,
    save_image,
)
from nst_helpers.cli import main
from nst_helpers.images import bundled_image

QUICK = ["--size", "48", "--steps", "2", "--scales", "off"]


@pytest.fixture
def inputs(tmp_path):
    """The user's own photo and painting: copies the tests may check byte for byte."""
    content, style = tmp_path / "my_photo.jpg", tmp_path / "my_painting.jpg"
    shutil.copy(bundled_image("chelsea"), content)
    shutil.copy(bundled_image("mosaic", "style"), style)
    return content, style


def run_main(capsys, *args) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def fingerprint(*paths: Path) -> list:
    return [(p.read_bytes(), p.stat().st_mode) for p in paths]


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"expected one 'error:' line, got {err!r}"
    assert "Traceback" not in err
    return lines[0]


# ----------------------------------------------------------------------------- 1. never destroy an input
@pytest.mark.parametrize("which", ["content", "style", "link to content"])
def test_output_that_is_an_input_is_refused_even_with_force(capsys, inputs, tmp_path, which):
    content, style = inputs
    before = fingerprint(content, style)
    out = {"content": content, "style": style, "link to content": tmp_path / "link.jpg"}[which]
    if which == "link to content":
        out.symlink_to(content)
    rc, _, err = run_main(capsys, content, style, "-o", out, "--force", *QUICK, "--quiet")
    assert rc == 1 and "is the input" in one_error_line(err)
    assert fingerprint(content, style) == before, "an input file was changed"


# ----------------------------------------------------------------------------- 2. output checked first, result kept
BAD_OUTPUTS = {
    "missing folder": ("nodir/g.png", "does not exist"),
    "unsupported suffix": ("g.gif", "'.gif'"),
    "no suffix": ("g", "no suffix"),
    "a folder": (".", "is a folder"),
    "sysfs": ("/sys/g.png", "Cannot write a file in the folder '/sys'"),
    "name too long": ("n" * 260 + ".png", "at most 255"),
    "broken link": ("dangling.png", "broken symbolic link"),
}


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_bad_output_is_refused_before_any_work(capsys, inputs, tmp_path, monkeypatch, case):
    if case == "sysfs" and not Path("/sys/kernel").is_dir():
        pytest.skip("needs Linux sysfs")
    monkeypatch.chdir(tmp_path)
    Path("dangling.png").symlink_to(tmp_path / "gone" / "x.png")
    name, expected = BAD_OUTPUTS[case]
    rc, out, err = run_main(capsys, *inputs, "-o", name, "--steps", "2", "--size", "48", "--scales", "off")
    line = one_error_line(err)  # no progress bar either: the optimisation never started
    assert rc == 1 and expected in line and "wrote" not in out
    assert "--force" not in line or case == "broken link", "a folder is no file to overwrite"


def test_a_long_name_that_fits_is_written(capsys, inputs, tmp_path):
    out = tmp_path / ("n" * 250 + ".png")  # the temporary name used to be longer than this one
    rc, _, err = run_main(capsys, *inputs, "-o", out, *QUICK, "--quiet")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["my_photo.jpg", "my_painting.jpg", out.name])


def test_a_save_failing_at_the_end_keeps_the_result(capsys, inputs, tmp_path, monkeypatch):
    real_save, calls = Image.Image.save, []

    def disk_full_once(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", disk_full_once)
    out = tmp_path / "g.png"
    rc, _, err = run_main(capsys, *inputs, "-o", out, *QUICK, "--quiet")
    line = one_error_line(err)
    assert rc == 1 and "the disk is full" in line and "kept as" in line
    kept = Path(line.split("kept as '")[1].rstrip("'."))
    assert kept.is_file() and tuple(load_image(kept).shape[-2:]) == (32, 48)
    assert not out.exists()


# ----------------------------------------------------------------------------- 3. failed runs are failures
def test_a_run_that_never_had_a_finite_loss_exits_non_zero_and_writes_nothing(capsys, inputs, tmp_path):
    out = tmp_path / "g.png"
    rc, out_text, err = run_main(capsys, *inputs, "-o", out, *QUICK, "--quiet", "--alpha", "1e308", "--beta", "1e308")
    assert rc == 1 and "NaN or infinite" in one_error_line(err) and "nothing was written" in err
    assert "wrote" not in out_text and not out.exists()


def test_api_never_returns_a_nan_image_and_says_what_it_returns(content64, style64):
    with pytest.raises(ParameterError, match="init image has NaN"):
        run_style_transfer(content64, style64, init=torch.full_like(content64, float("nan")), steps=1)
    with pytest.warns(RuntimeWarning, match="no finite loss at all.*start G0 unchanged"):
        G, history = run_style_transfer(content64, style64, alpha=1e308, beta=1e308, steps=2, scales=None,
                                         progress=False)
    assert history.stopped == "non-finite loss" and history.best_step == 0
    torch.testing.assert_close(G, content64)


def test_save_image_refuses_a_nan_image(tmp_path):
    with pytest.raises(ParameterError, match="NaN"):
        save_image(torch.full((1, 3, 4, 4), float("nan")), tmp_path / "g.png")
    assert list(tmp_path.iterdir()) == []


def test_weight_files_nan_non_string_keys_and_no_suffix(tmp_path, monkeypatch):
    state = load_vgg19("caffe").state_dict()  # our layer names: a valid weights file
    monkeypatch.chdir(tmp_path)
    torch.save(state, "myweights")  # 8. a valid file without a suffix is a weights file
    assert len(load_vgg19("myweights", last_layer="relu1_1")) == 2
    torch.save({0: state["conv1_1.weight"]}, "ints.pth")
    with pytest.raises(WeightsError, match="keys must be layer names"):
        load_vgg19("ints.pth")
    state["conv1_1.weight"] = state["conv1_1.weight"].clone()
    state["conv1_1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, "nan.pth")
    with pytest.raises(WeightsError, match="NaN or infinite weights in \\['conv1_1.weight'\\]"):
        load_vgg19("nan.pth")


# ----------------------------------------------------------------------------- 6. SIGTERM / SIGHUP like Ctrl-C
@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_keep_the_best_g(inputs, tmp_path, sig, status):
    out = tmp_path / "g.png"
    proc = subprocess.Popen([sys.executable, "-m", "nst_helpers", *map(str, inputs), "-o", str(out), "--size", "48",
                             "--steps", "100000", "--scales", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    seen = b""
    while b"eval" not in seen and proc.poll() is None:  # the progress bar: the optimisation runs
        seen += proc.stderr.read1(256)
    time.sleep(1.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr.decode()[-2000:]
    assert b"stopped early: interrupted" in stdout and b"Traceback" not in stderr
    assert load_image(out).shape[-1] == 48


# ----------------------------------------------------------------------------- 7. umask, an overwritten file's mode
def test_saved_files_follow_the_umask_and_keep_an_overwritten_files_mode(tmp_path):
    old = os.umask(0o027)
    try:
        new = save_image(torch.rand(1, 3, 4, 4), tmp_path / "new.png")
        assert new.stat().st_mode & 0o777 == 0o640
        kept = save_image(torch.rand(1, 3, 4, 4), tmp_path / "kept.png")
        kept.chmod(0o604)
        save_image(torch.rand(1, 3, 4, 4), kept, overwrite=True)
        assert kept.stat().st_mode & 0o777 == 0o604
    finally:
        os.umask(old)


# ----------------------------------------------------------------------------- 5. one dtype rule for every input
DARK = 200  # a dark 16-bit value: must not be read as 8-bit


@pytest.mark.parametrize("source, expected", [
    (np.full((4, 4, 3), 128, np.uint8), 128 / 255),
    (torch.full((1, 3, 4, 4), 128, dtype=torch.uint8), 128 / 255),
    (Image.new("L", (4, 4), 128), 128 / 255),
    (np.full((4, 4), DARK, np.uint16), DARK / 65535),
    (torch.full((1, 3, 4, 4), DARK, dtype=torch.uint16), DARK / 65535),
    (Image.fromarray(np.full((4, 4), DARK, np.uint16)), DARK / 65535),
    (np.ones((4, 4, 3), bool), 1.0),
    (torch.full((3, 4, 4), 0.25, dtype=torch.float16), 0.25),
    (torch.full((3, 4, 4), 0.25, dtype=torch.bfloat16), 0.25),
    (np.full((4, 4, 3), 0.25, np.float64), 0.25),
    (Image.fromarray(np.full((4, 4), 0.25, np.float32)), 0.25),
], ids=["uint8 array", "uint8 tensor", "8-bit PIL", "uint16 array", "uint16 tensor", "16-bit PIL", "bool array",
        "float16 tensor", "bfloat16 tensor", "float64 array", "float PIL"])
def test_the_dtype_rule(source, expected):
    torch.testing.assert_close(load_image(source), torch.full((1, 3, 4, 4), expected), atol=1e-6, rtol=0)


@pytest.mark.parametrize("source, pattern", [
    (torch.full((1, 3, 4, 4), 128.0), "Divide by 255"),
    (np.full((4, 4, 3), 128.0), "Divide by 255"),
    (Image.fromarray(np.full((4, 4), 128.0, np.float32)), "Divide by 255"),
    ((torch.rand(1, 3, 4, 4) - 0.45) / 0.225, "normalised"),
    (np.full((4, 4, 3), 7, np.int64), "uint8"),
    (torch.full((1, 3, 4, 4), 7, dtype=torch.int32), "uint8"),
    (Image.fromarray(np.full((4, 4), 70000, np.int32)), "16-bit"),
], ids=["float tensor 0..255", "float array 0..255", "float PIL 0..255", "ImageNet-normalised tensor", "int64 array",
        "int32 tensor", "32-bit PIL over 65535"])
def test_the_dtype_rule_refuses_what_it_cannot_read_unambiguously(source, pattern):
    with pytest.raises(ImageLoadError, match=pattern):
        load_image(source)


def test_the_readme_documents_the_dtype_rule():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Robustness"):]
    for dtype in ("uint8", "uint16", "bool", "bfloat16", "int64"):
        assert f"{dtype}" in section, f"the README's robustness section does not state the rule for {dtype}"


# ----------------------------------------------------------------------------- 4. the package's own errors
def test_out_of_memory_sizes_are_resource_errors_before_any_work(capsys, inputs, tmp_path):
    for extra, pattern in ((["--size", "100000"], "8192 x 8192"), (["--size", "48", "--style-scale", "1000"],
                                                                    "style_scale")):
        rc, _, err = run_main(capsys, *inputs, "-o", tmp_path / "g.png", "--steps", "1", "--scales", "off", *extra)
        assert rc == 1 and pattern in one_error_line(err)
    with pytest.raises(ResourceError):
        load_image(np.zeros((4, 4, 3), np.uint8), size=100_000)


def test_raw_exceptions_became_the_packages_own(tmp_path):
    with pytest.raises(ParameterError, match="seed"):
        run_style_transfer(torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48), seed=2**70, steps=1)
    with pytest.raises(ImageLoadError, match="too long"):
        load_image(tmp_path / ("a" * 300 + ".jpg"))
    for empty in (np.zeros((0, 0, 3), np.uint8), torch.zeros(1, 3, 0, 5)):
        with pytest.raises(ImageLoadError, match="no pixels"):
            load_image(empty, size=32)
    closed = Image.new("RGB", (8, 8))
    closed.close()
    with pytest.raises(ImageLoadError, match="closed"):
        load_image(closed)
    p = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(Image.open(p))
    with pytest.raises(ParameterError, match="at most 16383"):
        save_image(torch.zeros(1, 3, 2, 16384), tmp_path / "wide.webp")
    assert not (tmp_path / "wide.webp").exists()


def test_save_image_takes_arrays_and_pil_images(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    torch.testing.assert_close(load_image(save_image(arr, tmp_path / "a.png")), load_image(arr))
    torch.testing.assert_close(load_image(save_image(Image.fromarray(arr), tmp_path / "b.png")), load_image(arr))


# ----------------------------------------------------------------------------- 8. advice that fits the cause
def test_permission_denied_is_not_called_a_corrupt_file(tmp_path, monkeypatch):
    p = tmp_path / "private.jpg"
    Image.new("RGB", (8, 8)).save(p)

    def denied(fp, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(fp))

    monkeypatch.setattr(Image, "open", denied)  # root reads any file: the denial is Pillow's to make
    with pytest.raises(ImageLoadError, match="permission denied") as info:
        load_image(p)
    assert "private.jpg" in str(info.value) and "download" not in str(info.value)


def _float_rgb_tiff(w: int = 4, h: int = 3) -> bytes:
    """A valid little-endian TIFF of 32-bit float RGB pixels (one Pillow cannot decode)."""
    data = np.random.default_rng(0).random((h, w, 3)).astype("<f4").tobytes()
    n, ifd = 11, 8
    extra = ifd + 2 + n * 12 + 4
    tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, extra), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, extra + 12), (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1),
            (339, 3, 3, extra + 6)]
    return (b"II*\0" + struct.pack("<IH", ifd, n) + b"".join(struct.pack("<HHII", *t) for t in tags) + bytes(4)
            + struct.pack("<6H", 32, 32, 32, 3, 3, 3) + data)


@pytest.mark.parametrize("data, pattern", [
    (b"\0\0\0\x18ftypheic" + bytes(40), "HEIC.*pillow-heif"),
    (_float_rgb_tiff(), "TIFF file of a kind Pillow cannot decode"),
], ids=["HEIC", "float RGB TIFF"])
def test_unsupported_formats_are_named(tmp_path, data, pattern):
    p = tmp_path / "photo.img"
    p.write_bytes(data)
    with pytest.raises(ImageLoadError, match=pattern) as info:
        load_image(p)
    assert "PDF" not in str(info.value)


def test_a_style_image_over_the_size_limit_is_shrunk_not_refused(content64):
    style = np.random.default_rng(0).integers(0, 256, (40, 8300, 3), dtype=np.uint8)
    G, history = run_style_transfer(content64, style, steps=1, scales=None, progress=False,
                                    style_layers=["relu1_1"])
    assert history.steps == 1 and G.shape == content64.shape


def test_existing_output_messages(capsys, inputs, tmp_path):
    existing = tmp_path / "g.png"
    existing.write_bytes(b"my own file")
    rc, _, err = run_main(capsys, *inputs, "-o", existing, *QUICK)
    assert rc == 1 and "--force" in one_error_line(err) and existing.read_bytes() == b"my own file"
    with pytest.raises(OutputExistsError):
        save_image(torch.rand(1, 3, 4, 4), existing)
    with pytest.raises(OutputError, match="is a folder"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path, overwrite=True)


# ----------------------------------------------------------------------------- the command line, fuzzed
GOOD_OUTPUTS = ["g.png", "g.jpg", "G.JPEG", "g.webp", "g.tif", "n" * 250 + ".png"]
ODD_OUTPUTS = ["g.gif", "g", ".png", "nodir/g.png", ".", "my_photo.jpg", "my_painting.jpg", "existing.png",
               "dangling.png", "n" * 256 + ".png", "/sys/g.png"]
OPTIONS = st.lists(st.sampled_from([
    ["--alpha", "nan"], ["--alpha", "0"], ["--beta", "inf"], ["--beta", "-1"], ["--beta", "0"], ["--alpha", "1e308"],
    ["--init", "random"], ["--init", "noise"], ["--seed", "-1"], ["--seed", str(2**70)], ["--size", "0"],
    ["--size", "40"], ["--size", "100000"], ["--scales", "32", "48"], ["--scales", "48", "32"], ["--scales", "auto"],
    ["--style-layer-weights", "1,nan,1,1,1"], ["--style-layer-weights", "equal"], ["--style-scale", "0"],
    ["--optimizer", "adam"], ["--lr", "-1"], ["--noise", "nan"], ["--force"], ["--clamp-every", "0"],
    ["--style-layers", "conv_4"], ["--content-layers", "relu1_1"], ["--preserve-color", "luminance"],
]), max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output=st.one_of(st.sampled_from(GOOD_OUTPUTS), st.sampled_from(ODD_OUTPUTS)), options=OPTIONS,
       steps=st.integers(1, 3), two_styles=st.booleans())
def test_cli_fuzz_writes_an_image_or_says_why_and_never_changes_an_input(capsys, output, options, steps, two_styles):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        content, style = folder / "my_photo.jpg", folder / "my_painting.jpg"
        shutil.copy(bundled_image("chelsea"), content)
        shutil.copy(bundled_image("mosaic", "style"), style)
        (folder / "existing.png").write_bytes(b"my own file")
        (folder / "dangling.png").symlink_to(folder / "gone.png")
        before = fingerprint(content, style, folder / "existing.png")
        out = output if output.startswith("/") else str(folder / output)
        args = [content, style, *([style] if two_styles else []), "-o", out, "--size", "48", "--steps", steps,
                "--quiet", *[a for option in options for a in option]]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be a second, unexplained message
            rc, stdout, err = run_main(capsys, *args)
        event(f"exit status {rc}")
        if rc == 0:
            assert "wrote" in stdout and err == ""
            G = load_image(out)
            assert torch.isfinite(G).all() and G.shape[:2] == (1, 3)
        elif rc == 2:  # argparse: its usage, then one error line
            assert err.strip().splitlines()[-1].startswith("python -m nst_helpers: error:") and "Traceback" not in err
        else:
            assert rc == 1, (rc, err)
            one_error_line(err)
        after = fingerprint(content, style, folder / "existing.png")
        if "--force" in args and out.endswith("existing.png"):
            after, before = after[:2], before[:2]
        assert after == before, "an input (or an existing file without --force) was changed"
