"""Write tests/data/vgg_reference.json: statistics of caffe-VGG19 features on a fixed synthetic image.

Run once when the weights or their decoding change on purpose:
``python tests/make_vgg_reference.py``. test_vgg.py compares against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import smooth_image  # noqa: E402

from nst_helpers.model import Normalization, extract_features  # noqa: E402
from nst_helpers.vgg import load_vgg19  # noqa: E402

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_2", "relu5_1")


def reference() -> dict:
    feats = extract_features(load_vgg19("caffe"), Normalization("caffe"), smooth_image(64, 64, seed=3), LAYERS)
    out = {}
    for name, f in feats.items():
        out[name] = {
            "shape": list(f.shape),
            "mean": f.double().mean().item(),
            "std": f.double().std().item(),
            "channel_means": f.double().mean(dim=(0, 2, 3))[:8].tolist(),
        }
    return out


if __name__ == "__main__":
    path = Path(__file__).parent / "data" / "vgg_reference.json"
    path.write_text(json.dumps(reference(), indent=1) + "\n")
    print(f"wrote {path}")
