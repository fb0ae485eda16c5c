"""Conv2d -> ReLU -> MaxPool2d as one block: the bias and the ReLU move after the pooling.

Max-pooling commutes with adding a per-channel constant and with any non-decreasing
function, because both keep the order of the values inside a window::

    max_{i',j'} relu(z[b,c,.] + bias[c]) = relu(max_{i',j'} z[b,c,.] + bias[c])

(in floating point too: rounding is monotone, so ``fl(z1 + b) >= fl(z2 + b)`` whenever
``z1 >= z2``, and both sides are the same number). So ``Sequential`` runs the three layers as
``z = conv(x)`` without the bias, ``m = maxpool(z)``, ``y = relu(m + bias)``: the bias and the
ReLU touch a map ``h_K w_K`` times smaller (4x for the usual 2x2 pooling). Backward follows the
new order with the layers' own backward passes::

    dL/dm        = dL/dy * [m + bias > 0]                     (ReLU's backward)
    dL/dbias[c]  = sum_{b,i,j} dL/dm[b,c,i,j]                 (the bias now sits after the pool)
    dL/dz        = dL/dm routed to each window's maximum       (MaxPool2d's backward)
    dL/dx, dL/dw from dL/dz                                    (Conv2d's backward, no bias term)

This is the same gradient as the three layers in their own order, except where a window's
values differ but are equal once the bias is added and rounded: there the two orders may pick
different (equally valid) maxima. The layers' ``forward`` and ``backward`` still do exactly
what their docstrings say when called one by one (``bp.explain`` does that). After the block's
forward the layers hold the block's numbers, so each layer's own ``backward`` refuses to run,
naming ``model.backward`` (``Layer._check_grad``), until the layer's own forward runs again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .activations import ReLU
from .base import Layer
from .conv import Conv2d, channels_last
from .pooling import MaxPool2d

if TYPE_CHECKING:
    from ..optim import FusedSGDStep


class ConvReLUPool:
    """The steps ``Sequential`` runs for a ``Conv2d, ReLU, MaxPool2d`` run of layers (module docstring).

    It holds no arrays, only its three layers: ``Sequential`` makes it again from them when a
    copy of the model is unpickled.
    """

    def __init__(self, conv: Conv2d, relu: ReLU, pool: MaxPool2d) -> None:
        self.conv, self.relu, self.pool = conv, relu, pool
        self._scratch = False

    @staticmethod
    def matches(layers: tuple[Layer, ...]) -> bool:
        """Whether ``layers`` are a ``Conv2d``, a ``ReLU`` and a ``MaxPool2d``, in that order."""
        kinds = (Conv2d, ReLU, MaxPool2d)
        return len(layers) == 3 and all(type(layer) is kind for layer, kind in zip(layers, kinds))

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.conv.params

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # The convolution's output and the pool's input gradient never leave the block, so in
        # training (the same batch shape step after step) both live in buffers the layers
        # reuse; in eval() mode (large prediction batches) nothing is kept after the call.
        self._scratch = self.conv.training
        pooled = self.pool(self.conv.convolve(x, add_bias=False, scratch=self._scratch))
        bias = self.conv.bias
        if bias is not None:
            pooled += bias[:, None, None]  # the pool's output is its own, not kept by it
        y = self.relu(pooled)
        self.conv.ran_in_block = self.relu.ran_in_block = self.pool.ran_in_block = True
        return y

    def backward(self, gy: np.ndarray) -> np.ndarray:
        grad = self._before_conv(gy)
        return self.conv.convolve_backward(grad, input_grad=True, bias_grad=False, in_block=True)

    def backward_params(self, gy: np.ndarray) -> None:
        grad = self._before_conv(gy)
        self.conv.convolve_backward(grad, input_grad=False, bias_grad=False, in_block=True)

    def backward_update(
        self, gy: np.ndarray, step: FusedSGDStep, input_grad: bool = True
    ) -> np.ndarray | None:
        """``fit``'s backward (``Layer.backward_update``): the convolution's update is not fused."""
        if input_grad:
            return self.backward(gy)
        self.backward_params(gy)
        return None

    def _before_conv(self, gy: np.ndarray) -> np.ndarray:
        """ReLU's backward, the bias's gradient, then the pool's backward: ``dL/dz``."""
        grad_pooled = self.relu.backward(gy, in_block=True)
        grad_bias = self.conv.grads.get("bias")
        if grad_bias is not None:
            rows = channels_last(grad_pooled)
            if rows.flags.c_contiguous:
                np.sum(rows.reshape(-1, rows.shape[-1]), axis=0, out=grad_bias)
            else:
                np.sum(grad_pooled, axis=(0, 2, 3), out=grad_bias)
        return self.pool.backward(grad_pooled, scratch=self._scratch, in_block=True)

    def __str__(self) -> str:
        return f"ConvReLUPool({self.conv}, {self.relu}, {self.pool})"
