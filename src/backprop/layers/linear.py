"""Linear (fully connected) layer: ``z = W a + b`` for every sample of the batch.

Batch-first, one sample per row, the seeds' ``z = W a + b`` reads ``y = x W^T + b``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import validation
from ..dtypes import resolve_dtype
from ..init import default_weight_and_bias
from ..random import as_generator
from .base import Layer


def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """``y = x W^T + b``; x ``(N, I)``, W ``(O, I)``, b ``(O,)``, y ``(N, O)``."""
    y = x @ W.T
    if b is not None:
        y += b
    return y


def linear_weight_grad(gy: np.ndarray, x: np.ndarray, gW: np.ndarray) -> None:
    """Write ``gW = gy^T x`` in place.

    From ``y_ni = sum_j W_ij x_nj + b_i``: ``dy_ni/dW_ij = x_nj`` (and ``dy_ni/db_i = 1``, so
    ``dL/db = sum_n dL/dy_n``); the chain rule sums over the batch, which the product does.
    """
    if x.shape[0] == 1:
        # For one sample gy^T x is an outer product; NumPy's matmul does not hand a product
        # with an inner dimension of 1 to BLAS and is then about 7x slower than this multiply.
        np.multiply(gy.T, x, out=gW)
    else:
        np.matmul(gy.T, x, out=gW)


def linear_input_grad(gy: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``gx = gy W``: ``dy_ni/dx_nj = W_ij``, so ``dL/dx_nj = sum_i dL/dy_ni W_ij``."""
    return gy @ W


class Linear(Layer):
    """Fully connected layer ``y = x W^T + b`` (the seeds' ``z = W a + b``, per row).

    Forward:  ``y_ni = sum_j W_ij x_nj + b_i``
    Backward: ``dL/dx = dL/dy W``, ``dL/dW = (dL/dy)^T x``, ``dL/db = sum_n dL/dy_n``

    Shapes: x ``(N, in_features)``, y ``(N, out_features)``,
    ``weight`` ``(out_features, in_features)``, ``bias`` ``(out_features,)``.
    Weight and bias start as ``U(-1/sqrt(in_features), 1/sqrt(in_features))`` (PyTorch's
    default); ``bp.init`` has the others. Inputs must have the layer's dtype.

    ``dL/dW = (dL/dy)^T x`` is the product a ``grad_hooks["weight"]`` may take over (``SGD``'s
    update fused into it, ``Layer``'s docstring); ``dL/dx`` is computed first, from the weight
    before any such update.
    """

    hookable = ("weight",)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = validation.positive_integer("Linear", "in_features", in_features)
        self.out_features = validation.positive_integer("Linear", "out_features", out_features)
        bias = validation.flag("Linear", "bias", bias)
        dtype = resolve_dtype(dtype, str(self))
        self._add_param("weight", np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self._add_param("bias", np.empty(self.out_features, dtype))
        default_weight_and_bias(self.weight, self.bias, as_generator(rng))
        self._x: np.ndarray | None = None

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, 2, f"(N, {self.in_features})", (self.in_features,))
        self._x = x
        return linear_forward(x, self.weight, self.bias)

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        self._check_grad(gy, None if x is None else (x.shape[0], self.out_features))
        gx = linear_input_grad(gy, self.weight) if input_grad else None
        self._set_product_grad("weight", gy, x, linear_weight_grad)
        if "bias" in self.params:
            np.sum(gy, axis=0, out=self.grad_buffer("bias"))
        return gx

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": "bias" in self.params,
            "dtype": self.weight.dtype.name,
        }

    def __str__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"
