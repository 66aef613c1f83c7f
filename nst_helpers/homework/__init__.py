"""Checks for the homework notebooks: tell a student what is wrong, not just that it is wrong.

Each ``check_<exercise>`` takes the student's function or class, runs it on
tiny seeded tensors and compares it with the package's own implementation
(:mod:`nst_helpers.losses`, :mod:`nst_helpers.model`) with a relative
tolerance, checks properties that any correct answer has (the loss of A with A
is 0, a Gram matrix is N x N, symmetric and blind to shuffled positions, ...),
and recognises the classic mistakes by their fingerprint:

===========================  ====================================================
check                        the mistakes it names
===========================  ====================================================
:func:`check_gram_matrix`    a reshape that mixes channels and positions
                             (``features.view(H*W, N)``); the transposed product
                             (H*W x H*W); a missing or wrong normalisation
                             (found by its exact factor, e.g. N*H*W); a dropped,
                             flattened or ignored batch dimension; ``.t()`` or
                             ``torch.mm`` on too many dimensions; a result cut
                             off from autograd; an input changed in place
:func:`check_content_loss`   returning the loss instead of the input; an input
                             changed in place; a sum instead of a mean (factor
                             N*H*W); the paper's 1/2; a target that is not
                             detached or is trainable (``nn.Parameter``); a loss
                             that accumulates over forward passes; ``.item()``
:func:`check_style_loss`     the same, plus Gram matrices that are not
                             normalised (factor (N*H*W)^2), comparing feature
                             maps instead of Gram matrices, the Gram matrix of
                             the stored Gram matrix, a target that must have
                             the input's size
:func:`check_build_model`    an in-place ReLU overwriting a tensor a loss layer
                             keeps; a model that is not trimmed after the last
                             loss layer, or trimmed at ``style_layers[-1]`` when
                             a deeper loss layer comes earlier in a list; a
                             layer in both lists with one loss (``elif``); a
                             loss layer in the wrong place; targets from the
                             wrong image; a missing normalisation; the old
                             signature (``vgg, normalization`` first)
:func:`check_closure`        a missing ``zero_grad`` (gradients accumulate); no
                             ``backward``; ``zero_grad`` after ``backward``;
                             ``G.grad.zero_()`` before any backward; alpha and
                             beta swapped; summed style layers; loss terms
                             turned into numbers (``.item()``,
                             ``torch.tensor([...])``); a forward pass under
                             ``no_grad`` or outside the closure;
                             ``optimizer.step()`` inside it; G changed inside it
:func:`check_texture`        an image that is not a texture of S (Gram
                             matrices far from S's), an image that is not new
                             (local patch matching: a copy of S, also shifted,
                             flipped, rotated, transposed, noisy, blurred,
                             tiled, or cut into pieces and rearranged), a flat
                             image, pixels outside [0, 1]
===========================  ====================================================

A check raises :class:`CheckFailed` (an ``AssertionError``) whose message says
what was expected, what was found, and the likely mistake; a blank exercise
(still raising ``NotImplementedError``) gives :class:`NotImplementedYet`. On
success it prints one short line. The checks accept *any* correct
implementation (einsum or matmul, ``nnf.mse_loss`` or a hand-written mean, ...):
they compare numbers with tolerances, never code.

:func:`load_vgg19_inplace` gives the VGG19 feature stack with in-place ReLUs,
as ``torchvision.models.vgg19().features`` has them, for the model-assembly
exercise. The exercise's ``build_model(content, style, content_layers,
style_layers, *, vgg, normalization)`` has the signature of
:func:`nst_helpers.model.build_model` (and of notebook 03's); a function with
the old order (``vgg, normalization`` first) is told so by :func:`check_build_model`.

One module per exercise, on a small shared harness:

=====================  =========================================================
module                 contents
=====================  =========================================================
``_harness``           CheckFailed, NotImplementedYet, the message format,
                       calling student code, tolerances, seeded test inputs
``gram``               :func:`check_gram_matrix`
``loss_layers``        :func:`check_content_loss`, :func:`check_style_loss`
``model``              :func:`check_build_model`, :func:`tiny_vgg`,
                       :func:`load_vgg19_inplace`
``closure``            :func:`check_closure`
``texture``            :func:`check_texture`, :func:`texture_score`
=====================  =========================================================
"""

from ._harness import CheckFailed, NotImplementedYet
from .closure import check_closure
from .gram import check_gram_matrix
from .loss_layers import check_content_loss, check_style_loss
from .model import check_build_model, load_vgg19_inplace, tiny_vgg
from .texture import TEXTURE_LAYERS as TEXTURE_LAYERS
from .texture import TEXTURE_MAX_SCORE as TEXTURE_MAX_SCORE
from .texture import check_texture, texture_score

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "check_build_model",
    "check_closure",
    "check_content_loss",
    "check_gram_matrix",
    "check_style_loss",
    "check_texture",
    "load_vgg19_inplace",
    "texture_score",
    "tiny_vgg",
]
