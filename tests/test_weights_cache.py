"""The Caffe weights are decoded once per machine into a file that every process memory-maps."""

from __future__ import annotations

import pytest
import torch

from nst_helpers import vgg


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder for this test, and no weights cached in this process."""
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))
    vgg._cached_caffe_weights.cache_clear()
    yield tmp_path / "cache"
    vgg._cached_caffe_weights.cache_clear()


def test_first_load_writes_the_decoded_file_and_later_loads_map_it(cache):
    state = vgg._caffe_state_dict()
    files = list(cache.glob("vgg19_caffe_float32_*.pt"))
    assert len(files) == 1, f"expected one decoded weights file in {cache}, found {files}"
    assert not list(cache.glob("*.tmp")), "the temporary file of the atomic write was left behind"
    decoded = vgg._decode_caffe_weights(vgg.caffe_weights_path())
    assert set(state) == set(decoded) and all(torch.equal(state[k], decoded[k]) for k in decoded)
    vgg._cached_caffe_weights.cache_clear()
    mtime = files[0].stat().st_mtime_ns
    again = vgg._caffe_state_dict()
    assert files[0].stat().st_mtime_ns == mtime, "the second load decoded and wrote the file again"
    assert all(torch.equal(again[k], decoded[k]) for k in decoded)


def test_models_share_the_weights_instead_of_copying_them(cache):
    a = vgg.load_vgg19(last_layer="relu5_1")
    b = vgg.load_vgg19()
    assert a.conv1_1.weight.data_ptr() == b.conv1_1.weight.data_ptr()
    assert not any(p.requires_grad for p in b.parameters())
    assert a.conv5_1.weight.dtype == torch.float32 and a.conv5_1.weight.shape == (512, 512, 3, 3)


def test_a_damaged_cache_file_is_decoded_again(cache):
    vgg._caffe_state_dict()
    path = next(cache.glob("vgg19_caffe_float32_*.pt"))
    reference = vgg.load_vgg19().conv3_1.weight.clone()
    path.write_bytes(path.read_bytes()[:1000])  # a copy cut short, as a full disk or a killed process leaves it
    vgg._cached_caffe_weights.cache_clear()
    assert torch.equal(vgg.load_vgg19().conv3_1.weight, reference)
    assert path.stat().st_size > 50 * 2**20, "the damaged file was not replaced"


def test_an_unwritable_cache_still_gives_the_weights(cache, monkeypatch):
    """torch.save failing (a full disk, a read-only home) leaves the weights decoded in memory."""
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vgg.torch, "save", refuse)
    state = vgg._caffe_state_dict()
    assert not list(cache.glob("*.pt")) and state["0.weight"].shape == (64, 3, 3, 3)
    assert not list(cache.glob("*.tmp"))


def test_changing_a_loaded_model_in_place_does_not_change_the_file(cache):
    model = vgg.load_vgg19(last_layer="relu1_1")
    before = next(cache.glob("*.pt")).read_bytes()
    with torch.no_grad():
        model.conv1_1.bias.add_(1.0)  # copy-on-write pages: this process only
    assert next(cache.glob("*.pt")).read_bytes() == before
    with torch.no_grad():
        model.conv1_1.bias.sub_(1.0)
