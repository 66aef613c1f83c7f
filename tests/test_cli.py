"""The command line, run as a user would: ``python -m nst_helpers``."""

from __future__ import annotations

import subprocess
import sys

import torch
from PIL import Image

from nst_helpers import load_image
from nst_helpers.images import bundled_image


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nst_helpers", *args], capture_output=True, text=True, timeout=300)


def test_cli_round_trip_and_refusal_to_overwrite(tmp_path):
    out = tmp_path / "g.png"
    content, style = str(bundled_image("chelsea")), str(bundled_image("mosaic", "style"))
    r = run_cli(content, style, "-o", str(out), "--size", "48", "--steps", "6", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "6 evaluations" in r.stdout
    g = load_image(out)
    assert max(g.shape[-2:]) == 48
    assert (g - load_image(content, 48)).abs().mean() > 0.005, "the output should differ from the content"

    before = out.read_bytes()
    r = run_cli(content, style, "-o", str(out), "--size", "48", "--steps", "2", "--quiet")
    assert r.returncode == 1 and "--force" in r.stderr and "left untouched" in r.stderr
    assert out.read_bytes() == before, "an existing output must not be touched without --force"

    r = run_cli(content, style, "-o", str(out), "--size", "48", "--steps", "2", "--quiet", "--force", "--seed", "1",
                "--init", "random")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() != before


def test_cli_progress_bar_and_bad_input_messages(tmp_path):
    style = str(bundled_image("waves", "style"))
    missing = tmp_path / "nope.jpg"
    r = run_cli(str(missing), style, "-o", str(tmp_path / "x.png"), "--size", "48", "--steps", "2")
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.png").exists()

    r = run_cli(str(bundled_image("coffee")), style, "-o", str(tmp_path / "y.png"), "--size", "48", "--steps", "3",
                "--style-layers", "relu9_1")
    assert r.returncode == 1 and "Valid VGG19 layer names" in r.stderr and "Traceback" not in r.stderr

    r = run_cli(str(bundled_image("coffee")), style, "-o", str(tmp_path / "z.png"), "--size", "48", "--steps", "4")
    assert r.returncode == 0, r.stderr
    assert "style transfer" in r.stderr and "4/4" in r.stderr, "a tqdm progress bar should be shown"


def test_cli_output_is_reproducible_across_processes(tmp_path):
    content, style = str(bundled_image("astronaut")), str(bundled_image("geometric", "style"))
    outs = [tmp_path / "a.png", tmp_path / "b.png"]
    for out in outs:
        r = run_cli(content, style, "-o", str(out), "--size", "40", "--steps", "4", "--init", "noise", "--quiet")
        assert r.returncode == 0, r.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes(), "same seed and inputs must give a byte-identical PNG"
    assert Image.open(outs[0]).size == (40, 40)
    assert torch.equal(load_image(outs[0]), load_image(outs[1]))


def test_cli_scales_and_precision(tmp_path):
    content, style = str(bundled_image("chelsea")), str(bundled_image("swirls", "style"))
    out = tmp_path / "c2f.png"
    r = run_cli(content, style, "-o", str(out), "--size", "64", "--steps", "6", "--scales", "48", "64",
                "--precision", "float32", "--quiet")
    assert r.returncode == 0, r.stderr
    assert max(load_image(out).shape[-2:]) == 64, "G gets the last scale"
    r = run_cli(content, style, "-o", str(tmp_path / "mix.png"), "--size", "64", "--steps", "4", "--scales", "off",
                "64", "--quiet")
    assert r.returncode == 1 and "not both" in r.stderr and not (tmp_path / "mix.png").exists()
    r = run_cli(content, style, "-o", str(tmp_path / "bad.png"), "--scales", "big", "--quiet")
    assert r.returncode == 2 and "expected 'auto', 'off' or long sides" in r.stderr
    r = run_cli(content, style, "-o", str(tmp_path / "bad.png"), "--precision", "half", "--quiet")
    assert r.returncode == 2 and "invalid choice" in r.stderr
