"""kron_matmul is exact: it equals ``x @ (s * torch.kron(A, B)).T`` in values and gradients, on both
contraction orders, for non-square factors (where a column-major vec/mat copy of the paper's formula
would be wrong)."""

from __future__ import annotations

import pytest
import torch

from src.adapters.kron import factorised_cost, kron_matmul

# (A shape, B shape, the order kron_matmul's cost model picks)
CASES = [
    ((4, 2), (3, 5), "b_first"),
    ((3, 5), (4, 2), "a_first"),
    ((5, 1), (2, 6), "b_first"),
    ((2, 6), (5, 1), "a_first"),
    ((1, 1), (6, 4), "a_first"),
    ((6, 4), (1, 1), "b_first"),
]


def chosen_order(a_shape, b_shape) -> str:
    b_first, a_first = factorised_cost(a_shape, b_shape)
    return "b_first" if b_first <= a_first else "a_first"


@pytest.mark.parametrize(("a_shape", "b_shape", "order"), CASES)
def test_cases_cover_the_order_they_name(a_shape, b_shape, order):
    assert chosen_order(a_shape, b_shape) == order


@pytest.mark.parametrize(("a_shape", "b_shape", "order"), CASES)
@pytest.mark.parametrize("scale", [1.0, -2.5])
def test_values_and_gradients_match_materialised_kron(a_shape, b_shape, order, scale):
    generator = torch.Generator().manual_seed(hash((a_shape, b_shape)) % 2**31)
    d_in = a_shape[1] * b_shape[1]

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_(True)

    x, A, B = leaf(2, 3, d_in), leaf(*a_shape), leaf(*b_shape)
    upstream = torch.randn(2, 3, a_shape[0] * b_shape[0], generator=generator, dtype=torch.float64)

    factorised = kron_matmul(x, A, B, scale)
    grads = torch.autograd.grad(factorised, (x, A, B), upstream)
    dense = x @ (scale * torch.kron(A, B)).T
    dense_grads = torch.autograd.grad(dense, (x, A, B), upstream)

    assert factorised.shape == dense.shape
    torch.testing.assert_close(factorised, dense, rtol=1e-12, atol=1e-12)
    for name, got, want in zip("xAB", grads, dense_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12, msg=f"gradient of {name} differs")


def test_float32_large_token_batch_matches_within_float_tolerance():
    torch.manual_seed(0)
    x, A, B = torch.randn(64, 128, 768), torch.randn(32, 24), torch.randn(24, 32)
    torch.testing.assert_close(kron_matmul(x, A, B), x @ torch.kron(A, B).T, rtol=1e-4, atol=1e-3)


def test_wrong_input_width_is_refused():
    with pytest.raises(RuntimeError):
        kron_matmul(torch.randn(2, 7), torch.randn(2, 2), torch.randn(3, 3))
