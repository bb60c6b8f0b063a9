"""Training losses over the valid pixels of a batch, chosen by name (`TrainConfig.loss`)."""

from __future__ import annotations

import torch

__all__ = ["LOSSES", "masked_l1", "masked_mse"]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp_min(1.0)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |pred − target| over the pixels where ``mask`` is True (0 when none is)."""
    return _masked_mean(torch.abs(pred - target), mask)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean (pred − target)² over the pixels where ``mask`` is True (0 when none is)."""
    return _masked_mean((pred - target) ** 2, mask)


# L1 fits the conditional median: where melt is uncertain (sparse patches) it predicts 0; the
# squared error fits the conditional mean, a fraction there (docs/model.md, "Loss")
LOSSES = {"l1": masked_l1, "mse": masked_mse}
