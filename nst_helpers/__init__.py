"""nst_helpers: the code behind the neural style transfer lectures.

One module per idea (each lecture notebook maps to one of them):

==================  ===========================================================
module              idea
==================  ===========================================================
``images``          images as ``1 x 3 x H x W`` tensors in [0, 1]: load, save, show
``vgg``             the frozen VGG19 feature stack and its layer names
``losses``          Gram matrix, ContentLoss, StyleLoss
``model``           Normalization and the assembled model with loss layers
``transfer``        ``run_style_transfer``: optimising the pixels of G
``quality``         three numbers for a render: style ratio, content loss, speckle
``artwork``         the procedural paintings used as bundled style images
``errors``          the package's error types
==================  ===========================================================
"""

from .errors import (
    ImageLoadError,
    ImageTooSmallError,
    LayerNameError,
    NSTError,
    ParameterError,
    ResourceError,
    WeightsError,
)
from .images import bundled_image, bundled_images, load_image, resize_to, save_image, show, to_pil
from .losses import ContentLoss, StyleLoss, gram_matrix, tv_loss
from .model import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    Normalization,
    build_model,
    extract_features,
)
from .transfer import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_STEPS,
    DEFAULT_TV_WEIGHT,
    History,
    default_weights,
    run_style_transfer,
)
from .vgg import LAYER_NAMES, channels, downsampling, layer_index, load_vgg19

__version__ = "0.1.0"

__all__ = [
    "ContentLoss",
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STEPS",
    "DEFAULT_STYLE_LAYERS",
    "DEFAULT_TV_WEIGHT",
    "History",
    "ImageLoadError",
    "ImageTooSmallError",
    "LAYER_NAMES",
    "LayerNameError",
    "NSTError",
    "Normalization",
    "ParameterError",
    "ResourceError",
    "StyleLoss",
    "WeightsError",
    "build_model",
    "channels",
    "downsampling",
    "extract_features",
    "layer_index",
    "resize_to",
    "bundled_image",
    "bundled_images",
    "default_weights",
    "gram_matrix",
    "load_image",
    "load_vgg19",
    "run_style_transfer",
    "save_image",
    "show",
    "to_pil",
    "tv_loss",
]
