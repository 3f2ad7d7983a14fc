"""The ``torch.nn`` modules that PyTorch lacks for deltaprop's activations.

Kept apart from :mod:`deltaprop.export.torch` so that an activation can name its twin
(:meth:`deltaprop.activations.Activation.to_torch`) without an import cycle; imported only
when a network goes to PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CappedExp"]


class CappedExp(nn.Module):
    """``e^z``, with ``z`` capped at ``log`` of the dtype's largest finite number: the
    :class:`~deltaprop.activations.Exponential` output (the log link of Poisson
    regression), which never overflows to inf."""

    def forward(self, z):
        cap = torch.nextafter(torch.log(torch.tensor(torch.finfo(z.dtype).max, dtype=z.dtype)),
                              torch.zeros((), dtype=z.dtype))
        return torch.exp(torch.minimum(z, cap))
