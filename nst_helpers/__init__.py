"""nst_helpers: the code behind the neural style transfer lectures.

One module per idea (each lecture notebook maps to one of them):

==================  ===========================================================
module              idea
==================  ===========================================================
``images``          images as ``1 x 3 x H x W`` tensors in [0, 1]: load, save, show
``vgg``             the frozen VGG19 feature stack and its layer names
``losses``          Gram matrix, ContentLoss, StyleLoss, the smoothness term
``model``           Normalization and the assembled model with loss layers
``config``          ``TransferConfig``: every setting of a run, checked once
``transfer``        ``optimize`` (the loop of lecture 04) and ``run_style_transfer``
``history``         what a run records: losses, snapshots, the best G, the budget
``runtime``         device, precision, memory layout, out-of-memory errors
``guided``          several style images and masked regions (lecture 06)
``color``           colour preservation (lecture 06)
``pyramid``         coarse-to-fine (lecture 07)
``quality``         three numbers for a render: style ratio, content loss, speckle
``paintings``       the classic paintings, downloaded on request and checked by hash (optional)
``plotting``        feature maps, Gram matrices, loss curves, image grids
``explorer``        the alpha/beta explorer's session: runs, cache, cancel (no widgets)
``widgets``         the explorer's and the step-through's views (ipywidgets)
``homework``        the homework checks, one module per exercise
``cli``             ``python -m nst_helpers``: the command line
``errors``          the package's error types
==================  ===========================================================
"""

from .config import TransferConfig
from .errors import (
    DownloadError,
    ImageLoadError,
    ImageTooSmallError,
    LayerNameError,
    NSTError,
    OutputError,
    OutputExistsError,
    ParameterError,
    ResourceError,
    WeightsError,
)
from .guided import BlendedStyleLoss, GuidedStyleLoss
from .history import History
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
    default_weights,
    optimize,
    run_style_transfer,
)
from .vgg import LAYER_NAMES, channels, downsampling, layer_index, load_vgg19

__version__ = "0.1.0"

__all__ = [
    "BlendedStyleLoss",
    "ContentLoss",
    "GuidedStyleLoss",
    "TransferConfig",
    "optimize",
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STEPS",
    "DEFAULT_STYLE_LAYERS",
    "DEFAULT_TV_WEIGHT",
    "DownloadError",
    "History",
    "ImageLoadError",
    "ImageTooSmallError",
    "LAYER_NAMES",
    "LayerNameError",
    "NSTError",
    "Normalization",
    "OutputError",
    "OutputExistsError",
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
