"""Report 002's CIFAR-10 networks.

The report's CNN is evidently the PyTorch CIFAR-10 tutorial's: two 5x5 conv
layers (6 and 16 filters) each followed by 2x2 max-pooling, then fully connected
layers 120 and 84 wide and a 10-way output. The report varies the number of FC
layers (3 to 6), the activation, and adds batch norm, skip connections or
another initialization to the 6-layer net; Q2 uses the same trunk with 2 FC
layers and L1, L2 or dropout.
"""

from __future__ import annotations

import torch
from torch import nn

class ShiftedTanh(nn.Module):
    """tanh(x) + 1: tanh's slope, centred at 1 instead of 0 (report 002's control for its centring explanation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) + 1.0


ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh_shifted": ShiftedTanh,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
}

TUTORIAL_WIDTHS = (120, 84)


def fc_widths(n_fc: int, added_width: int | None = None) -> list[int]:
    """Hidden widths of an ``n_fc``-layer head: the tutorial's 120 and 84, then ``added_width`` repeated.

    ``added_width=None`` repeats 84, the last tutorial width (the literal reading:
    the report adds layers without saying how wide).
    """
    if n_fc < 1:
        raise ValueError(f"n_fc must be at least 1, not {n_fc}")
    hidden = list(TUTORIAL_WIDTHS[: n_fc - 1])
    extra = n_fc - 1 - len(hidden)
    hidden += [added_width or TUTORIAL_WIDTHS[-1]] * extra
    return hidden


class FCBlock(nn.Module):
    """Linear → (batch norm) → activation, with an identity skip when the widths agree and ``skip`` is set."""

    def __init__(self, d_in: int, d_out: int, activation: str, batch_norm: bool, skip: bool, dropout: float):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.norm = nn.BatchNorm1d(d_out) if batch_norm else nn.Identity()
        self.act = ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.skip = skip and d_in == d_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.act(self.norm(self.linear(x))))
        return x + y if self.skip else y


class CifarCNN(nn.Module):
    """The tutorial CNN with ``n_fc`` fully connected layers (the last one is the 10-way output).

    Args:
        n_fc: number of FC layers including the output layer (report: 3 to 6; Q2: 2).
        activation: 'sigmoid', 'tanh', 'tanh_shifted', 'relu' or 'leaky_relu', used after every conv and hidden FC layer.
        num_classes: outputs (10 for CIFAR-10, 2 for the Q2 two-class task).
        batch_norm: BatchNorm1d after each hidden FC layer.
        skip: identity skip connections around hidden FC layers of equal width.
        init: 'default' (PyTorch's), 'xavier' (Glorot uniform, gain 1, zero bias), 'xavier-tanh' (Glorot uniform
            with tanh's gain 5/3, zero bias) or 'kaiming' (He normal, zero bias).
        dropout: dropout probability after each hidden FC activation (0 = none).
        added_width: width of hidden FC layers beyond the tutorial's two (None = 84).
    """

    def __init__(self, n_fc: int = 3, activation: str = "tanh", num_classes: int = 10, batch_norm: bool = False,
                 skip: bool = False, init: str = "default", dropout: float = 0.0, added_width: int | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.act = ACTIVATIONS[activation]()
        widths = [16 * 5 * 5] + fc_widths(n_fc, added_width)
        self.hidden = nn.ModuleList(
            FCBlock(a, b, activation, batch_norm, skip, dropout) for a, b in zip(widths[:-1], widths[1:])
        )
        self.out = nn.Linear(widths[-1], num_classes)
        init_weights(self, init)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations of every layer, input to output, for measuring their means."""
        acts = []
        x = self.pool(self.act(self.conv1(x)))
        acts.append(x)
        x = self.pool(self.act(self.conv2(x)))
        acts.append(x)
        x = torch.flatten(x, 1)
        for block in self.hidden:
            x = block(x)
            acts.append(x)
        acts.append(self.out(x))
        return acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialize every conv and linear layer of ``model`` by ``scheme``."""
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            elif scheme == "xavier-tanh":
                nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain("tanh"))
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            else:
                raise ValueError(f"init must be 'default', 'xavier', 'xavier-tanh' or 'kaiming', not {scheme!r}")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
