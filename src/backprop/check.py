"""Gradient checks: every analytic backward against central finite differences of its forward.

As in Taura's ``grad_check``: pick a random direction ``v`` and compare the directional
derivative the backward pass implies, ``<dL/dq, v>``, with the central difference
``(L(q + h v) - L(q - h v)) / 2h``, for the input and for every parameter ``q``. The scalar
``L`` is ``sum(r * component(x))`` for a fixed random ``r`` (so the backward receives
``dL/dy = r``), or the loss itself when a loss and targets are given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .layers.base import Layer
from .losses import Loss
from .random import as_generator


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with finite differences; the message holds the table."""


@dataclass
class GradcheckResult:
    """Worst relative and absolute error per checked quantity (``"input"``, parameter names).

    A quantity passes when its relative error is at most ``rtol`` or its absolute error at
    most ``atol`` (the absolute test covers gradients that are zero, where any relative error
    is finite-difference noise).
    """

    component: str
    relative_errors: dict[str, float] = field(default_factory=dict)
    absolute_errors: dict[str, float] = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-8

    def failures(self) -> list[str]:
        return [
            name
            for name, relative in self.relative_errors.items()
            if relative > self.rtol and self.absolute_errors[name] > self.atol
        ]

    @property
    def passed(self) -> bool:
        return not self.failures()

    def __str__(self) -> str:
        failed = set(self.failures())
        width = max([len("quantity"), *map(len, self.relative_errors)])
        lines = [
            f"gradcheck {self.component}",
            f"  {'quantity':<{width}}  {'relative error':>14}  {'absolute error':>14}  result",
        ]
        for name, relative in self.relative_errors.items():
            verdict = "FAIL" if name in failed else "ok"
            lines.append(
                f"  {name:<{width}}  {relative:>14.3e}  {self.absolute_errors[name]:>14.3e}  {verdict}"
            )
        return "\n".join(lines)


def _random_generators(component: Layer | Loss) -> list[np.random.Generator]:
    if not isinstance(component, Layer):
        return []
    layers = component.modules()
    return [layer.rng for layer in layers if isinstance(getattr(layer, "rng", None), np.random.Generator)]


def gradcheck(
    component: Layer | Loss,
    x: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    loss: Loss | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    directions: int = 3,
    rng: int | np.random.Generator | None = 0,
    raise_on_failure: bool = True,
) -> GradcheckResult:
    """Check ``component.backward`` against central differences of ``component.forward``.

    Parameters
    ----------
    component : a layer, a ``Sequential`` model or a loss (then ``targets`` is required).
    x : the input batch (float64; float32 differences are too coarse to check anything).
    targets : targets for a loss, either ``component`` itself or ``loss``.
    loss : when given, the checked scalar is ``loss(component(x), targets)``.
    eps : the finite-difference step ``h``.
    rtol, atol : pass thresholds on the worst relative and absolute error per quantity.
    directions : how many random unit directions to try per quantity.
    rng : seeds the directions and the output weighting ``r``.
    raise_on_failure : raise ``GradcheckError`` with the table if any quantity fails.

    Random layers (Dropout) draw the same mask at every evaluation: their generators are
    rewound before each forward pass.
    """
    if isinstance(directions, bool) or not isinstance(directions, (int, np.integer)) or directions < 1:
        # Zero directions would check nothing and report every gradient as passing.
        raise ValueError(f"gradcheck: directions must be a positive integer, got {directions!r}")
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"gradcheck: expected a float64 input, got {x.dtype} (use dtype=np.float64)")
    is_loss = isinstance(component, Loss)
    if (is_loss or loss is not None) and targets is None:
        raise ValueError(f"gradcheck: checking {component} through a loss needs targets")
    if isinstance(component, Layer):
        for name, value in component.params.items():
            if value.dtype != np.float64:
                raise TypeError(
                    f"gradcheck: {component} parameter {name} is {value.dtype};"
                    " build the component with dtype=np.float64"
                )
    generator = as_generator(rng)
    rewind = [(g, g.bit_generator.state) for g in _random_generators(component)]
    output_weights: list[np.ndarray] = []

    def scalar(x_value: np.ndarray) -> tuple[float, np.ndarray]:
        """The checked scalar and its analytic dL/dx (which also sets the parameter grads)."""
        for g, state in rewind:
            g.bit_generator.state = state
        if is_loss:
            value = component(x_value, targets)
            return value, component.backward()
        y = component(x_value)
        if loss is not None:
            value = loss(y, targets)
            return value, component.backward(loss.backward())
        if not output_weights:
            output_weights.append(generator.standard_normal(y.shape))
        return float(np.sum(output_weights[0] * y)), component.backward(output_weights[0])

    _, grad_x = scalar(x)
    analytic = {"input": grad_x.copy()}
    quantities: dict[str, np.ndarray] = {"input": x.copy()}
    if isinstance(component, Layer):
        analytic.update({name: g.copy() for name, g in component.grads.items()})
        quantities.update(component.params)

    result = GradcheckResult(str(component), rtol=rtol, atol=atol)
    for name, array in quantities.items():
        worst_relative = worst_absolute = 0.0
        for _ in range(directions):
            direction = generator.standard_normal(array.shape)
            direction /= np.linalg.norm(direction)
            numeric = _central_difference(scalar, quantities["input"], array, direction, eps)
            expected = float(np.sum(analytic[name] * direction))
            absolute = abs(numeric - expected)
            relative = absolute / max(abs(numeric), abs(expected), np.finfo(np.float64).tiny)
            worst_relative = max(worst_relative, relative)
            worst_absolute = max(worst_absolute, absolute)
        result.relative_errors[name] = worst_relative
        result.absolute_errors[name] = worst_absolute
    scalar(x)
    if raise_on_failure and not result.passed:
        raise GradcheckError(str(result))
    return result


def _central_difference(
    scalar: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    array: np.ndarray,
    direction: np.ndarray,
    eps: float,
) -> float:
    """``(L(q + h v) - L(q - h v)) / 2h``; ``array`` is ``x`` itself or a parameter, restored after."""
    original = array.copy()
    try:
        values = []
        for sign in (1.0, -1.0):
            np.copyto(array, original + sign * eps * direction)
            values.append(scalar(x)[0])
    finally:
        np.copyto(array, original)
    return (values[0] - values[1]) / (2 * eps)


def jacobian(component: Layer, x: np.ndarray) -> np.ndarray:
    """The full Jacobian ``J[i, j] = dy_i / dx_j`` of ``y = component(x)``, from backward passes.

    Row ``i`` is ``backward(e_i)`` for the basis vector ``e_i`` of the output, flattened; ``J`` has
    shape ``(y.size, x.size)``. It shows what backward never builds: for a batch, the blocks
    linking different samples are zero, and an elementwise layer's ``J`` is diagonal.
    """
    if not isinstance(component, Layer):
        raise TypeError(f"jacobian: expected a layer or model, got {type(component).__name__}")
    y = component(np.asarray(x))
    matrix = np.empty((y.size, np.asarray(x).size), dtype=y.dtype)
    basis = np.zeros_like(y)
    for i in range(y.size):
        basis.flat[i] = 1
        matrix[i] = component.backward(basis).ravel()
        basis.flat[i] = 0
    return matrix
