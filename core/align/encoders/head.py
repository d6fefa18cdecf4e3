"""The residual head that adapter and memory encoders train on top of frozen base vectors."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

HEADS = ("linear", "mlp")


class Head(nn.Module):
    """y = x + W x (linear) or y = x + W2 relu(W1 x + b1) + b2 (mlp); zero-initialised residual, so it starts as x."""

    def __init__(self, dim: int, kind: str = "mlp", hidden: int = 512):
        super().__init__()
        if kind not in HEADS:
            raise ValueError(f"unknown head {kind!r}; use one of {HEADS}")
        self.kind = kind
        if kind == "linear":
            self.linear = nn.Linear(dim, dim)
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)
        else:
            self.up = nn.Linear(dim, hidden)
            self.down = nn.Linear(hidden, dim)
            nn.init.zeros_(self.down.weight)
            nn.init.zeros_(self.down.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, dim) -> (B, dim)
        if self.kind == "linear":
            return x + self.linear(x)
        return x + self.down(F.relu(self.up(x)))
