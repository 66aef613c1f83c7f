"""Gram matrix and the loss layers."""

from __future__ import annotations

import pytest
import torch

from nst_helpers import BlendedStyleLoss, ContentLoss, ParameterError, StyleLoss, gram_matrix


def test_gram_known_values_on_tiny_tensor():
    # 2 maps of 1 x 2 pixels: F = [[1, 2], [3, 4]] -> F F^T = [[5, 11], [11, 25]], divided by N*H*W = 4
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    torch.testing.assert_close(gram_matrix(f), expected,
                               msg="Gram must be F @ F.T / (N*H*W) with F of shape N x (H*W)")


def test_gram_shape_is_channels_by_channels():
    g = gram_matrix(torch.rand(2, 5, 7, 3))
    assert g.shape == (2, 5, 5), \
        f"Gram of B x N x H x W must be B x N x N, got {tuple(g.shape)}: check the matmul order"


def test_gram_symmetric_and_positive_semidefinite():
    g = gram_matrix(torch.randn(1, 16, 9, 11))[0].double()
    torch.testing.assert_close(g, g.T, msg="a Gram matrix must be symmetric")
    eig = torch.linalg.eigvalsh(g)
    assert eig.min() > -1e-6 * eig.abs().max(), f"a Gram matrix must be PSD; smallest eigenvalue {eig.min():.3g}"


def test_gram_blind_to_pixel_positions():
    f = torch.randn(1, 8, 6, 5)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(0))
    shuffled = f.reshape(1, 8, 30)[:, :, perm].reshape(1, 8, 6, 5)
    assert not torch.allclose(f, shuffled)
    torch.testing.assert_close(gram_matrix(shuffled), gram_matrix(f),
                               msg="shuffling pixel positions must not change the Gram matrix")


def test_gram_does_not_mix_channels_and_positions():
    # a reshape to (H*W) x N instead of N x (H*W) would give an (H*W) x (H*W) matrix or mix values
    f = torch.zeros(1, 2, 2, 2)
    f[0, 0] = 1.0  # map 0 all ones, map 1 all zeros
    g = gram_matrix(f)[0]
    torch.testing.assert_close(g, torch.tensor([[0.5, 0.0], [0.0, 0.0]]))


def test_gram_rejects_wrong_rank_with_a_hint():
    with pytest.raises(ParameterError, match="unsqueeze"):
        gram_matrix(torch.rand(3, 4, 4))


def test_content_loss_passes_input_through_and_keeps_loss():
    target = torch.rand(1, 4, 5, 5)
    layer = ContentLoss(target)
    x = torch.rand(1, 4, 5, 5)
    out = layer(x)
    assert out is x, "a loss layer must return its input unchanged"
    torch.testing.assert_close(layer.loss, ((x - target) ** 2).mean())
    layer(target.clone())
    assert layer.loss.item() == 0.0, "content loss of C with C must be 0"


def test_content_loss_target_is_detached_copy():
    target = torch.rand(1, 2, 3, 3, requires_grad=True)
    layer = ContentLoss(target)
    assert not layer.target.requires_grad
    with torch.no_grad():
        target.add_(1.0)
    assert not torch.allclose(layer.target, target), "ContentLoss must keep its own copy of the target"


def test_content_loss_shape_mismatch_message():
    layer = ContentLoss(torch.rand(1, 2, 3, 3))
    with pytest.raises(ParameterError, match="same size as C"):
        layer(torch.rand(1, 2, 4, 4))


def test_style_loss_zero_for_same_image_and_positive_otherwise():
    s = torch.rand(1, 6, 8, 8)
    layer = StyleLoss(s)
    assert layer(s) is s
    assert layer.loss.item() == pytest.approx(0.0, abs=1e-12), "style loss of S with S must be 0"
    layer(torch.rand(1, 6, 8, 8) * 3)
    assert layer.loss.item() > 0


def test_style_loss_accepts_other_sizes_and_blends():
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 4, 6) * 2
    layer = BlendedStyleLoss([a, b], weights=[3, 1])
    torch.testing.assert_close(layer.target, 0.75 * gram_matrix(a) + 0.25 * gram_matrix(b))
    layer(torch.rand(1, 3, 5, 5))  # G may have another size than S
    assert layer.loss.ndim == 0


def test_style_loss_rejects_bad_blend_weights():
    with pytest.raises(ParameterError, match="blend weight"):
        BlendedStyleLoss([torch.rand(1, 2, 3, 3)], weights=[1, 2])


def test_losses_are_differentiable_wrt_input():
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    c, s = ContentLoss(torch.rand(1, 3, 4, 4)), StyleLoss(torch.rand(1, 3, 4, 4))
    s(c(x))
    (c.loss + s.loss).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
