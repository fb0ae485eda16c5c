"""Linear (fully connected) layer: ``z = W a + b`` for every sample of the batch.

Batch-first, one sample per row, the seeds' ``z = W a + b`` reads ``y = x W^T + b``.

The input may be a SciPy sparse matrix (a bag of words, a hashed feature vector: 2**18 columns
of which a few are non-zero): ``x W^T`` and ``dL/dW = (dL/dy)^T x`` are then sparse products
that read only the non-zeros, so a batch is never made dense.
"""

from __future__ import annotations

import sys
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


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a SciPy sparse matrix or array (without importing SciPy: whoever made
    one imported it)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(x))


def sparse_linear_weight_grad(gy: np.ndarray, x: Any, gW: np.ndarray) -> None:
    """Write ``gW = gy^T x = (x^T gy)^T`` for a sparse ``x``: the product walks x's non-zeros only."""
    np.copyto(gW, (x.T @ gy).T)


def linear_input_grad(gy: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``gx = gy W``: ``dy_ni/dx_nj = W_ij``, so ``dL/dx_nj = sum_i dL/dy_ni W_ij``."""
    return gy @ W


class Linear(Layer):
    """Fully connected layer ``y = x W^T + b`` (the seeds' ``z = W a + b``, per row).

    Forward:  ``y_ni = sum_j W_ij x_nj + b_i``
    Backward: ``dL/dx = dL/dy W``, ``dL/dW = (dL/dy)^T x``, ``dL/db = sum_n dL/dy_n``

    Shapes: x ``(N, in_features)`` (dense, or SciPy sparse: the module's docstring), y ``(N, out_features)``,
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
        self.add_param("weight", np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.add_param("bias", np.empty(self.out_features, dtype))
        default_weight_and_bias(self.weight, self.bias, as_generator(rng))
        self._x: np.ndarray | None = None

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) and is_sparse(x):
            self._check_sparse_input(x)
        else:
            self.check_input(x, 2, f"(N, {self.in_features})", (self.in_features,))
        self._x = x
        return linear_forward(x, self.weight, self.bias)

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        self._check_grad(gy, None if x is None else (x.shape[0], self.out_features))
        assert x is not None  # _check_grad raised otherwise
        gx = linear_input_grad(gy, self.weight) if input_grad else None
        if not isinstance(x, np.ndarray) and is_sparse(x):
            sparse_linear_weight_grad(gy, x, self.grad_buffer("weight"))
        else:
            self._set_product_grad("weight", gy, x, linear_weight_grad)
        if "bias" in self.params:
            np.sum(gy, axis=0, out=self.grad_buffer("bias"))
        return gx

    def _check_sparse_input(self, x: Any) -> None:
        """``check_input``'s rules for a sparse matrix: ``(N, in_features)``, N >= 1, the layer's dtype."""
        self.ran_in_block = False
        if x.ndim != 2 or x.shape[1] != self.in_features or x.shape[0] == 0:
            raise ValueError(f"{self}: expected sparse input of shape (N, {self.in_features}), got {x.shape}")
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"{self}: expected sparse input of dtype {self.weight.dtype} (the layer's dtype), got"
                f" {x.dtype}; convert with x.astype(np.{self.weight.dtype})"
            )

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": "bias" in self.params,
            "dtype": self.weight.dtype.name,
        }

    def __str__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"
