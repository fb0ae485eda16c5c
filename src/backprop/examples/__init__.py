"""The seeds' worked problems, importable: ``backprop example NAME`` and ``examples/*.py`` run them.

=============  =========================================================================
``softmax``    seed 002: one Linear(2 -> 3) layer, softmax, cross-entropy, one step by hand
``regression`` seed 003: ``f(x) = w2 x^2 + w1 x + w0`` by gradient descent and by SGD
``digits``     seed 003: ``softmax(W2 ReLU(W1 ReLU(W0 x)))``, bias-free, on the 8x8 digits
``cnn``        seed 003: convolution, ReLU, max-pool, linear, softmax on the same digits
``sigmoid``    seeds 000, 001: sigmoid networks, softmax output (digits) and linear output (diabetes)
=============  =========================================================================

Each example has ``run(seed=0, ...) -> dict`` (the numbers, so tests can assert them),
``report(result) -> str`` (what the command prints) and ``explain_setup(seed) -> ExplainSetup``
(its model, loss and a small batch for ``bp.explain``). The examples only compose the library:
every forward and backward is the layers' own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import digits, regression, sigmoid, softmax
from ._setup import ExplainSetup


@dataclass(frozen=True)
class Example:
    """One entry of ``EXAMPLES``; ``plots`` says whether ``run`` takes a ``plot`` path."""

    description: str
    run: Callable[..., dict[str, Any]]
    report: Callable[[dict[str, Any]], str]
    explain_setup: Callable[[int], ExplainSetup]
    plots: bool = False

EXAMPLES: dict[str, Example] = {
    "softmax": Example(
        "seed 002: Linear(2 -> 3), softmax, cross-entropy; one step with every number",
        softmax.run,
        softmax.report,
        softmax.explain_setup,
    ),
    "regression": Example(
        "seed 003: w2 x^2 + w1 x + w0 by gradient descent and SGD, checked against least squares",
        regression.run,
        regression.report,
        regression.explain_setup,
        plots=True,
    ),
    "digits": Example(
        "seed 003: softmax(W2 ReLU(W1 ReLU(W0 x))), bias-free, SGD on the 8x8 digits",
        digits.run_digits,
        digits.report_digits,
        digits.explain_digits,
    ),
    "cnn": Example(
        "seed 003: convolution, ReLU, max-pool, linear, softmax on the 8x8 digits",
        digits.run_cnn,
        digits.report_cnn,
        digits.explain_cnn,
    ),
    "sigmoid": Example(
        "seeds 000, 001: sigmoid networks, softmax output (digits) and linear output (diabetes)",
        sigmoid.run,
        sigmoid.report,
        sigmoid.explain_setup,
    ),
}

__all__ = ["EXAMPLES", "Example", "ExplainSetup"]
