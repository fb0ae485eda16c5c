"""Elementwise activations and Softmax, each with its derivative written from the output.

Writing ``sigma'`` from the forward output ``y`` (as scikit-learn's ``_base.py`` does) means
backward needs only ``y``: ``relu' = [y > 0]``, ``sigmoid' = y (1 - y)``, ``tanh' = 1 - y^2``.
The Jacobian of an elementwise function is diagonal, so the chain rule
``dL/dx_j = sum_i dL/dy_i dy_i/dx_j`` reduces to the Hadamard product ``dL/dx = dL/dy * f'``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..validation import is_number
from .base import Layer


class Activation(Layer):
    """Shared plumbing: any shape ``(N, ...)`` in, the same shape out; keeps ``y``.

    ``function`` is the activation's name in formulas; ``derivative`` is ``f'`` as a formula
    in the input ``x`` and the output ``y``, the one the backward multiplies by (None for
    Softmax, whose Jacobian is not diagonal). ``bp.explain`` prints these strings.
    """

    function: str = ""
    derivative: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, max(getattr(x, "ndim", 1), 1), "(N, ...)")
        self._y = self._forward(x)
        return self._y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        y = self._y
        self._check_grad(gy, None if y is None else y.shape)
        assert y is not None  # _check_grad raised otherwise
        return self._backward(gy, y) if input_grad else None

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def relu_forward(x: np.ndarray) -> np.ndarray:
    """``y = max(x, 0)``."""
    return np.maximum(x, 0)


def relu_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * [x > 0]``, and ``[x > 0] = [y > 0]``."""
    return gy * (y > 0)


class ReLU(Activation):
    """Rectified linear unit, elementwise, any shape.

    Forward:  ``y = max(x, 0)``
    Backward: ``dL/dx = dL/dy * [x > 0]`` (the derivative at the kink ``x = 0`` is taken as 0)
    """

    function = "ReLU"
    derivative = "[x > 0]"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return relu_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return relu_backward(gy, y)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """``y = 1 / (1 + e^-x)`` in two branches, so it is exact to a few ulp in both tails.

    With ``e = e^-|x|`` in ``(0, 1]`` (it never overflows):

        y = 1 / (1 + e)    for x >= 0
        y = e / (1 + e)    for x < 0      (the same number: multiply by e^x / e^x)

    Why two branches: ``1 / (1 + e^-x)`` overflows ``e^-x`` for x < -88.7 (float32), and the
    one-line ``(1 + tanh(x / 2)) / 2`` cancels in the left tail (``1 + tanh`` of a number near
    -1): in float32 it was 2.6% off at x = -15 and 0 from x = -20 (float64: 0 from x = -38).
    Each branch adds ``1 + e`` in ``(1, 2]`` and divides once, so nothing cancels.

    The branch is taken without a mask (NumPy's ``where=`` loops are over ten times slower
    than its vectorised arithmetic): the numerator is ``max(e, sign(x))``, which is ``1`` for
    x > 0, ``e`` for x < 0 and ``e = 1`` at x = 0 (NaN stays NaN). Two temporaries, the rest
    in place. x is ``(N, ...)``; y has its shape and dtype.
    """
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e = e^-|x| in (0, 1]
    y = np.sign(x)
    np.maximum(e, y, out=y)  # the numerator: 1 for x > 0, e for x < 0
    e += 1
    y /= e
    return y


def sigmoid_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * y (1 - y)``.

    Exact to a few ulp for x <= 0, where ``1 - y`` is in ``[1/2, 1)``. For x > 0 the factor
    ``1 - y`` is computed from the rounded ``y`` and is only good to an absolute ``eps``: the
    derivative ``e^-x / (1 + e^-x)^2`` rounds to 0 from x = 16.6 (float32) or 36.7 (float64),
    as in PyTorch's ``sigmoid_backward``. ``SigmoidBinaryCrossEntropy`` has no such limit.
    """
    return gy * y * (1 - y)


class Sigmoid(Activation):
    """Logistic sigmoid, elementwise, any shape.

    Forward:  ``y = 1 / (1 + e^-x)``, as ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` for
    x < 0 with ``e = e^-|x|`` (``sigmoid_forward``: no overflow, and no cancellation in the
    left tail, so ``y`` is exact to a few ulp for every x down to the smallest normal ``y``)
    Backward: ``dL/dx = dL/dy * y (1 - y)`` (seed 001: ``sigma' = O (1 - O)``); in the right
    tail ``1 - y`` is only as good as an absolute ``eps`` (see ``sigmoid_backward``)

    Followed by ``BinaryCrossEntropy`` it is the seeds' unfused form; the fused
    ``SigmoidBinaryCrossEntropy`` on the logits has gradient ``sigmoid(z) - t`` and no limit
    in either tail.
    """

    function = "sigmoid"
    derivative = "y (1 - y)"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return sigmoid_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return sigmoid_backward(gy, y)


def tanh_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = dL/dy * (1 - y^2)``.

    ``1 - y^2`` from the rounded output is good to an absolute ``eps`` (the derivative is at
    most 1), not to a relative one in the tails: ``1 - tanh(x)^2 = 4 e^-2|x| / (1 + e^-2|x|)^2``
    is 0 from |x| = 10 in float32 (19 in float64), where ``y`` rounds to +-1, as in PyTorch's
    ``tanh_backward``.
    """
    return gy * (1 - y * y)


class Tanh(Activation):
    """Hyperbolic tangent, elementwise, any shape.

    Forward:  ``y = tanh(x)`` (``np.tanh``: a few ulp everywhere, and never overflows)
    Backward: ``dL/dx = dL/dy * (1 - y^2)``, good to an absolute ``eps`` (see ``tanh_backward``)
    """

    function = "tanh"
    derivative = "1 - y^2"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return tanh_backward(gy, y)


def softmax_forward(x: np.ndarray) -> np.ndarray:
    """``y_i = e^(x_i - m) / sum_k e^(x_k - m)`` over the last axis, ``m = max_k x_k``.

    Subtracting ``m`` changes nothing mathematically and keeps every exponent <= 0, so
    logits of 1e4 do not overflow, and the sum is in ``[1, C]``. Each ``y_i`` is good to a
    relative ``(|x_i - m| + log2 C + 4) eps``: ``x_i - m`` is rounded to ``|x_i - m| eps / 2``,
    and ``e^u`` turns an absolute error in ``u`` into the same relative one (PyTorch too).
    """
    y = x - x.max(axis=-1, keepdims=True)
    np.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y


def softmax_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dx = y * (dL/dy - sum_i dL/dy_i y_i)``: the Jacobian ``diag(y) - y y^T`` applied.

    ``(diag(y) - y y^T)^T g = y * g - y (y . g)``, so the ``C x C`` matrix is never built.
    The subtraction cancels where ``dL/dy_j`` is close to the mean ``sum_i dL/dy_i y_i`` (a
    near one-hot ``y``): each ``dL/dx_j`` is good to a few ``eps y_j (|dL/dy_j| + sum_i |dL/dy_i|
    y_i)`` (times the forward's factor above), not to a relative ``eps``, as in PyTorch's
    ``softmax_backward_data``.
    """
    return y * (gy - np.sum(gy * y, axis=-1, keepdims=True))


class Softmax(Activation):
    """Softmax over the last axis, any shape ``(N, ..., C)``.

    Forward:  ``y_i = e^(x_i) / sum_k e^(x_k)``
    Backward: ``dy_i/dx_j = y_i (1[i = j] - y_j)``, so ``dL/dx = y * (dL/dy - (dL/dy . y))``

    Followed by ``CrossEntropy`` it is the seeds' unfused form; ``SoftmaxCrossEntropy`` on the
    logits is the fused one with gradient ``y - t``, cheaper and exact for any logits.
    """

    function = "softmax"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return softmax_forward(x)

    def _backward(self, gy: np.ndarray, y: np.ndarray) -> np.ndarray:
        return softmax_backward(gy, y)


def leaky_relu_forward(x: np.ndarray, slope: float) -> np.ndarray:
    """``y = x`` where ``x > 0``, ``a x`` elsewhere."""
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward(gy: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """``dL/dx = dL/dy * ([x > 0] + a [x <= 0])``: the slope of the piece ``x`` lies on."""
    return gy * np.where(x > 0, gy.dtype.type(1), gy.dtype.type(slope))


class LeakyReLU(Activation):
    """Leaky rectified linear unit with slope ``a`` (``negative_slope``) below 0, elementwise, any shape.

    Forward:  ``y = x`` for ``x > 0``, ``y = a x`` for ``x <= 0``
    Backward: ``dL/dx = dL/dy * ([x > 0] + a [x <= 0])`` (at the kink ``x = 0`` the slope ``a``,
    as PyTorch's ``leaky_relu_backward``)

    ``a`` may be any number (PyTorch's default 0.01; 0 is ReLU); with ``a < 0`` the sign of
    ``y`` no longer tells which piece ``x`` was on, so the layer keeps ``x`` for its backward.
    """

    function = "LeakyReLU"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not is_number(negative_slope):
            raise ValueError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.derivative = f"[x > 0] + {self.negative_slope:g} [x <= 0]"
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, max(getattr(x, "ndim", 1), 1), "(N, ...)")
        self._x = x
        self._y = leaky_relu_forward(x, self.negative_slope)
        return self._y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        self._check_grad(gy, None if x is None else x.shape)
        assert x is not None  # _check_grad raised otherwise
        return leaky_relu_backward(gy, x, self.negative_slope) if input_grad else None

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715  # the tanh form's constant (Hendrycks & Gimpel, 2016)


def gelu_cdf(x: np.ndarray, approximate: str) -> np.ndarray:
    """``Phi(x)``, the standard normal's distribution function (or its tanh approximation).

    Exact: ``Phi(x) = erfc(-x / sqrt 2) / 2``. Written with ``erfc`` rather than ``(1 + erf(x /
    sqrt 2)) / 2``, whose ``1 + erf`` cancels in the left tail (0 from x = -5.9 in float32,
    where ``Phi`` is 2e-9), so ``x Phi(x)`` keeps its digits there (SciPy's ``erfc``).
    Tanh form: ``Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2``.
    """
    if approximate == "tanh":
        inner = x * x
        inner *= x.dtype.type(_GELU_CUBIC)
        inner += 1
        inner *= x
        inner *= x.dtype.type(_SQRT_2_OVER_PI)
        np.tanh(inner, out=inner)
        inner += 1
        inner *= x.dtype.type(0.5)
        return inner
    from scipy.special import erfc  # SciPy only where GELU runs: it is not needed to import backprop

    cdf = erfc(x * x.dtype.type(-1 / _SQRT_2))
    cdf *= x.dtype.type(0.5)
    return cdf


def gelu_derivative(x: np.ndarray, approximate: str) -> np.ndarray:
    """``GELU'(x)``: ``Phi(x) + x phi(x)`` with ``phi(x) = e^(-x^2/2) / sqrt(2 pi)``, or the tanh
    form's ``(1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2``."""
    if approximate == "tanh":
        t = gelu_cdf(x, "tanh") * x.dtype.type(2) - 1  # tanh(sqrt(2/pi) (x + 0.044715 x^3))
        slope = (1 - t * t) * x.dtype.type(_SQRT_2_OVER_PI / 2) * (1 + x.dtype.type(3 * _GELU_CUBIC) * x * x)
        return (1 + t) * x.dtype.type(0.5) + x * slope
    density = np.exp(x * x * x.dtype.type(-0.5)) * x.dtype.type(_INV_SQRT_2PI)
    return gelu_cdf(x, "none") + x * density


class GELU(Activation):
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016), elementwise, any shape.

    Forward:  ``y = x Phi(x)``, ``Phi`` the standard normal distribution function,
    ``Phi(x) = erfc(-x / sqrt 2) / 2`` (``approximate="none"``, PyTorch's default), or
    ``y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2`` (``approximate="tanh"``)
    Backward: ``dL/dx = dL/dy * (Phi(x) + x phi(x))``, ``phi(x) = e^(-x^2/2) / sqrt(2 pi)`` the
    density (product rule: ``Phi' = phi``); for the tanh form, with ``t`` the tanh,
    ``dL/dx = dL/dy * ((1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2)``

    The derivative needs ``x`` itself (``y`` does not determine it: GELU is not monotone below
    x = -0.75), so the layer keeps its input. The exact form uses SciPy's ``erfc``.
    """

    function = "GELU"
    derivative = "Phi(x) + x phi(x)"

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        if approximate == "tanh":
            self.derivative = "(1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 0.134145 x^2) / 2"
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.check_input(x, max(getattr(x, "ndim", 1), 1), "(N, ...)")
        self._x = x
        self._y = x * gelu_cdf(x, self.approximate)
        return self._y

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        self._check_grad(gy, None if x is None else x.shape)
        assert x is not None  # _check_grad raised otherwise
        return gy * gelu_derivative(x, self.approximate) if input_grad else None

    def config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}
