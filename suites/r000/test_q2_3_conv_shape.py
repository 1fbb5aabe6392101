"""Report 000, Q2.3: a conv layer's output shape — 8 filters 6x6, stride 2, padding 1, on 32x32x32 → 15x15x8."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.session import for_each_reading


def conv_output_size(i: int, k: int, s: int, p: int) -> int:
    """O = ⌊(I − K + 2P) / S⌋ + 1, PyTorch's; the report writes it without the floor."""
    return (i - k + 2 * p) // s + 1


def report_formula(i: int, k: int, s: int, p: int) -> float:
    """The report's O = (I − K + 2P) / S + 1, as written (no floor)."""
    return (i - k + 2 * p) / s + 1


def conv_layer_shape(channels: int, size: int, filters: int, k: int, s: int, p: int) -> tuple[int, ...]:
    """The (C, H, W) nn.Conv2d gives for one input of ``channels`` x ``size`` x ``size``."""
    layer = torch.nn.Conv2d(channels, filters, k, stride=s, padding=p)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, channels, size, size)).shape[1:])


GRID = [(i, k, s, p) for i, k, s, p in itertools.product((5, 8, 15, 32, 33), (1, 2, 3, 5, 6), (1, 2, 3), (0, 1, 2))
        if i + 2 * p >= k]


@pytest.mark.parametrize("i,k,s,p", GRID)
def test_conv_formula_matches_layer(i, k, s, p):
    assert conv_layer_shape(2, i, 3, k, s, p) == (3, conv_output_size(i, k, s, p), conv_output_size(i, k, s, p))


@settings(max_examples=60, deadline=None)
@given(i=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3))
def test_conv_formula_property(i, k, s, p):
    if i + 2 * p < k:
        return
    assert conv_layer_shape(1, i, 2, k, s, p)[1] == conv_output_size(i, k, s, p)


@for_each_reading("r000.conv_shape")
def test_conv_shape(claim):
    report_case = conv_layer_shape(32, 32, 8, 6, 2, 1)
    exact = [(i, k, s, p) for i, k, s, p in GRID if (i - k + 2 * p) % s == 0]  # where the formula gives an integer
    agrees = [conv_layer_shape(2, i, 3, k, s, p)[1] == report_formula(i, k, s, p) for i, k, s, p in exact]
    claim.conclude({"report_case": list(report_case), "agrees": agrees,
                    "needs_floor": len(GRID) - len(exact)}, seeds=[0])
    assert 0 < len(exact) < len(GRID)
