"""Gradient checks: every analytic backward against central finite differences of its forward.

As in Taura's ``grad_check``: pick a random direction ``v`` and compare the directional
derivative the backward pass implies, ``<dL/dq, v>``, with the central difference
``(L(q + h v) - L(q - h v)) / 2h``, for the input and for every parameter ``q``. The scalar
``L`` is ``sum(r * component(x))`` for a fixed random ``r`` (so the backward receives
``dL/dy = r``), or the loss itself when a loss and targets are given.

The pieces are public for every other check (``bp.explain`` uses them): ``central_difference``,
``random_direction``, ``random_rewind`` (Dropout's masks held still), ``relative_error`` and
the pass rule ``passes`` with its thresholds ``RTOL``, ``ATOL``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import validation
from .layers.base import Layer
from .losses import Loss
from .random import as_generator
from .tables import format_table

# The pass rule of every check (``passes``): a relative error of at most RTOL, or an absolute
# one of at most ATOL, for gradients that are zero, where any relative error is noise.
RTOL = 1e-5
ATOL = 1e-8


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
    rtol: float = RTOL
    atol: float = ATOL

    def failures(self) -> list[str]:
        return [
            name
            for name, relative in self.relative_errors.items()
            if not passes(relative, self.absolute_errors[name], self.rtol, self.atol)
        ]

    @property
    def passed(self) -> bool:
        return not self.failures()

    def __str__(self) -> str:
        failed = set(self.failures())
        rows = [
            [name, f"{relative:.3e}", f"{self.absolute_errors[name]:.3e}", "FAIL" if name in failed else "ok"]
            for name, relative in self.relative_errors.items()
        ]
        header = ["quantity", "relative error", "absolute error", "result"]
        table = format_table(header, rows, "lrrl", rule=False, indent="  ")
        return "\n".join([f"gradcheck {self.component}", *table])


def passes(relative: float, absolute: float, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """gradcheck's rule: a small relative error, or a tiny absolute one (where the gradient is 0)."""
    return relative <= rtol or absolute <= atol


def relative_error(analytic: float, numeric: float) -> float:
    """``|analytic - numeric| / max(|analytic|, |numeric|)``, and 0 where both are 0."""
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), np.finfo(np.float64).tiny)


def random_direction(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random unit vector ``v`` of ``shape`` (float64): normal draws divided by their norm."""
    v = rng.standard_normal(shape)
    v /= np.linalg.norm(v)
    return v


def central_difference(
    value: Callable[[], float], array: np.ndarray, direction: np.ndarray, eps: float
) -> float:
    """``(L(q + h v) - L(q - h v)) / 2h`` for ``L = value()``, moving ``array`` (``q``) in place.

    ``array`` is an input or a parameter that ``value`` reads; it is restored exactly after.
    A float32 ``array`` takes the float64 step rounded to its dtype.
    """
    original = array.copy()
    try:
        values = []
        for sign in (1.0, -1.0):
            np.copyto(array, original + sign * eps * direction, casting="unsafe")
            values.append(value())
    finally:
        np.copyto(array, original)
    return (values[0] - values[1]) / (2 * eps)


def random_rewind(component: Layer | Loss) -> Callable[[], None]:
    """A function that puts every random generator inside ``component`` back to its state now.

    Dropout draws a new mask at every forward pass; calling the returned function before each
    evaluation makes all of them draw the same masks, so finite differences see one function.
    """
    layers = component.modules() if isinstance(component, Layer) else []
    generators = [getattr(layer, "rng", None) for layer in layers]
    states = [
        (generator, generator.bit_generator.state)
        for generator in generators
        if isinstance(generator, np.random.Generator)
    ]

    def rewind() -> None:
        for generator, state in states:
            generator.bit_generator.state = state

    return rewind


def gradcheck(
    component: Layer | Loss,
    x: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    loss: Loss | None = None,
    eps: float = 1e-6,
    rtol: float = RTOL,
    atol: float = ATOL,
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
    # Zero directions would check nothing and report every gradient as passing.
    validation.positive_integer("gradcheck", "directions", directions)
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
    rewind = random_rewind(component)
    output_weights: list[np.ndarray] = []

    def scalar(x_value: np.ndarray) -> tuple[float, np.ndarray | None]:
        """The checked scalar and its analytic dL/dx (which also sets the parameter grads)."""
        rewind()
        if isinstance(component, Loss):  # is_loss
            assert targets is not None  # checked above
            value = component(x_value, targets)
            return value, component.backward()
        y = component(x_value)
        if loss is not None:
            assert targets is not None  # checked above
            value = loss(y, targets)
            return value, component.backward(loss.backward())
        if not output_weights:
            output_weights.append(generator.standard_normal(y.shape))
        return float(np.sum(output_weights[0] * y)), component.backward(output_weights[0])

    _, grad_x = scalar(x)
    assert grad_x is not None  # a backward with input_grad returns dL/dx
    analytic = {"input": grad_x.copy()}
    quantities: dict[str, np.ndarray] = {"input": x.copy()}
    if isinstance(component, Layer):
        for name, g in component.grads.items():
            assert g is not None  # only fit installs the hooks that leave a gradient None
            analytic[name] = g.copy()
        quantities.update(component.params)

    probed_x = quantities["input"]  # perturbed in place when the input itself is probed
    result = GradcheckResult(str(component), rtol=rtol, atol=atol)
    for name, array in quantities.items():
        worst_relative = worst_absolute = 0.0
        for _ in range(directions):
            direction = random_direction(generator, array.shape)
            numeric = central_difference(lambda: scalar(probed_x)[0], array, direction, eps)
            expected = float(np.sum(analytic[name] * direction))
            absolute = abs(numeric - expected)
            worst_relative = max(worst_relative, relative_error(expected, numeric))
            worst_absolute = max(worst_absolute, absolute)
        result.relative_errors[name] = worst_relative
        result.absolute_errors[name] = worst_absolute
    scalar(x)
    if raise_on_failure and not result.passed:
        raise GradcheckError(str(result))
    return result


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
        row = component.backward(basis)
        assert row is not None  # a backward with input_grad returns dL/dx
        matrix[i] = row.ravel()
        basis.flat[i] = 0
    return matrix
