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

from typing import TypeGuard

import numpy as np

from .activations import ReLU, relu_backward, relu_forward
from .base import Layer
from .channels import channel_sum, per_channel
from .conv import Conv2d, check_conv_input, conv2d_backward, conv2d_forward
from .pooling import MaxPool2d, check_pool_input, maxpool2d_backward, maxpool2d_forward, maxpool2d_max
from .windows import Scratch


class ConvReLUPool:
    """The steps ``Sequential`` runs for a ``Conv2d, ReLU, MaxPool2d`` run of layers (module docstring).

    An internal detail of ``Sequential``, not a layer: it computes with the module-level
    functions of the three layers (``conv2d_forward``, ``maxpool2d_forward``, ``relu_forward``
    and their backwards) on the layers' parameters, writes the convolution's gradients into
    the ``Conv2d``, and keeps what its own backward needs itself. The layers' own state is left
    alone; each is marked ``ran_in_block``, so its own ``backward`` refuses until its own
    forward runs again. It holds no arrays that are state: ``Sequential`` makes it again from
    the layers when a copy of the model is unpickled.
    """

    def __init__(self, conv: Conv2d, relu: ReLU, pool: MaxPool2d) -> None:
        self.conv, self.relu, self.pool = conv, relu, pool
        self._scratch = Scratch()
        self._reuse = False
        self._xp: np.ndarray | None = None
        self._x_shape: tuple[int, ...] = ()
        self._z_shape: tuple[int, ...] = ()
        self._argmax: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def __getstate__(self) -> dict[str, object]:
        """A copy keeps the forward's state (its backward may follow), not the scratch buffers."""
        return {**self.__dict__, "_scratch": Scratch()}

    @staticmethod
    def matches(layers: tuple[Layer, ...]) -> TypeGuard[tuple[Conv2d, ReLU, MaxPool2d]]:
        """Whether ``layers`` are a ``Conv2d``, a ``ReLU`` and an unpadded ``MaxPool2d``, in that order.

        (A padded pool's ``-inf`` border would not survive the bias and ReLU taken after it.)
        """
        kinds = (Conv2d, ReLU, MaxPool2d)
        return (
            len(layers) == 3
            and all(type(layer) is kind for layer, kind in zip(layers, kinds))
            and isinstance(layers[2], MaxPool2d)  # as checked: for the type checker
            and not any(layers[2].padding)
        )

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.conv.params

    def __call__(self, x: np.ndarray) -> np.ndarray:
        conv, pool = self.conv, self.pool
        ho, wo = check_conv_input(conv, x)
        # The convolution's output and the pool's input gradient never leave the block, so in
        # training (the same batch shape step after step) both live in reused buffers; in
        # eval() mode (large prediction batches) nothing is kept after the call.
        self._reuse = conv.training
        out = self._scratch.get("z", (len(x) * ho * wo, conv.out_channels), x.dtype) if self._reuse else None
        z, self._xp = conv2d_forward(x, conv.weight, None, conv.stride, conv.padding, out)
        check_pool_input(pool, z)
        if pool.training:
            pooled, self._argmax = maxpool2d_forward(z, pool.kernel_size, pool.stride)
            self._z = None
        else:  # the maximum alone; a backward after it finds the positions from the kept z
            pooled, self._argmax, self._z = maxpool2d_max(z, pool.kernel_size, pool.stride), None, z
        bias = conv.bias
        if bias is not None:
            pooled += per_channel(bias, pooled)  # the pool's output is the block's own
        y = self._y = relu_forward(pooled)
        self._x_shape, self._z_shape = x.shape, z.shape
        conv.ran_in_block = self.relu.ran_in_block = pool.ran_in_block = True
        return y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """ReLU's backward, the bias's gradient, the pool's backward, then the convolution's."""
        conv, pool, y = self.conv, self.pool, self._y
        if y is None or gy.shape != y.shape:
            expected = None if y is None else y.shape
            raise ValueError(
                f"{self}: expected gradient of shape {expected} (the block's output), got {np.shape(gy)}"
            )
        grad_pooled = relu_backward(gy, y)
        if "bias" in conv.params:
            np.copyto(conv.grad_buffer("bias"), channel_sum(grad_pooled))
        argmax = self._argmax
        if argmax is None:
            assert self._z is not None  # set with y
            argmax = maxpool2d_forward(self._z, pool.kernel_size, pool.stride)[1]
        out = self._scratch.get("grad_z", self._z_shape, gy.dtype, like=argmax) if self._reuse else None
        grad_z = maxpool2d_backward(grad_pooled, argmax, self._z_shape, pool.kernel_size, pool.stride, out)
        assert self._xp is not None  # set with y
        return conv2d_backward(
            grad_z,
            self._xp,
            conv.weight,
            self._x_shape if input_grad else None,
            conv.stride,
            conv.padding,
            conv.grad_buffer("weight"),
            None,
        )

    def __str__(self) -> str:
        return f"ConvReLUPool({self.conv}, {self.relu}, {self.pool})"
