"""``backprop gradcheck``: every component's backward against finite differences, in float64."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np

import backprop as bp

from ..tables import format_table
from . import arguments

Case = tuple[str, "bp.Layer | bp.Loss", np.ndarray, "np.ndarray | None", "bp.Loss | None"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "gradcheck",
        help="check every component's backward against finite differences (float64)",
        description="Check every component's analytic backward pass against central finite "
        "differences of its forward pass, in float64, and print the worst relative error of "
        "the input gradient and of each parameter gradient.",
    )
    parser.add_argument(
        "--seed", type=arguments.seed, default=0, help="seed of inputs and directions (default 0)"
    )
    parser.add_argument(
        "--directions",
        type=arguments.positive_int,
        default=3,
        help="random directions per quantity, at least 1 (default 3)",
    )
    parser.set_defaults(run=run)


def cases(rng: np.random.Generator) -> Iterator[Case]:
    """(label, component, input, targets, loss) for every component, float64, random shapes."""
    f64 = np.float64
    vectors = rng.standard_normal((4, 6))
    labels = rng.integers(0, 5, size=4)
    probabilities = rng.uniform(0.05, 0.95, size=(4, 5))
    yield "Linear", bp.Linear(6, 5, dtype=f64, rng=rng), vectors, None, None
    yield "Linear, batch 1", bp.Linear(6, 5, dtype=f64, rng=rng), vectors[:1], None, None
    yield "Linear, no bias", bp.Linear(6, 5, bias=False, dtype=f64, rng=rng), vectors, None, None
    for activation in (bp.ReLU(), bp.Sigmoid(), bp.Tanh(), bp.Softmax(), bp.GELU()):
        yield type(activation).__name__, activation, vectors, None, None
    yield "GELU, tanh form", bp.GELU("tanh"), vectors, None, None
    # Away from 0, where LeakyReLU's slope jumps and a finite difference would straddle the kink.
    yield "LeakyReLU(0.1)", bp.LeakyReLU(0.1), vectors + np.sign(vectors) * 0.05, None, None
    yield "LayerNorm(6)", _randomised(bp.LayerNorm(6, dtype=f64), rng), vectors, None, None
    yield "BatchNorm1d(6), training", _randomised(bp.BatchNorm1d(6, dtype=f64), rng), vectors, None, None
    yield "Dropout(0.5), training", bp.Dropout(0.5, rng=rng), vectors, None, None
    images = rng.standard_normal((2, 3, 7, 6))
    convolutions = [
        ("Conv2d 3x3, stride 1, padding 1", bp.Conv2d(3, 4, 3, padding=1, dtype=f64, rng=rng), images),
        ("Conv2d 2x3, stride 2, padding 0", bp.Conv2d(3, 2, (2, 3), stride=2, dtype=f64, rng=rng), images),
        ("Conv2d, batch 1", bp.Conv2d(3, 2, 3, (1, 2), (0, 1), dtype=f64, rng=rng), images[:1]),
    ]
    for label, conv, x in convolutions:
        yield label, conv, x, None, None
    # Distinct values keep every window's maximum unique, away from ties.
    distinct = rng.permutation(images.size).reshape(images.shape) / images.size
    yield "MaxPool2d(2), stride 2", bp.MaxPool2d(2), distinct, None, None
    yield "MaxPool2d(3, stride=2), overlapping", bp.MaxPool2d(3, stride=2), distinct, None, None
    yield "MaxPool2d(3, stride=2, padding=1)", bp.MaxPool2d(3, stride=2, padding=1), distinct, None, None
    yield "AvgPool2d(3, stride=2, padding=1)", bp.AvgPool2d(3, stride=2, padding=1), images, None, None
    yield "GlobalAvgPool2d", bp.GlobalAvgPool2d(), images, None, None
    yield "BatchNorm2d(3), training", _randomised(bp.BatchNorm2d(3, dtype=f64), rng), images, None, None
    evaluating = _randomised(bp.BatchNorm2d(3, dtype=f64), rng)
    evaluating(images)  # running statistics that are not the start's 0 and 1
    yield "BatchNorm2d(3), eval()", evaluating.eval(), images, None, None
    yield "LayerNorm((7, 6))", _randomised(bp.LayerNorm((7, 6), dtype=f64), rng), images, None, None
    yield "Flatten", bp.Flatten(), images, None, None
    block = bp.Sequential(
        bp.Conv2d(3, 4, 3, stride=2, padding=1, dtype=f64, rng=rng), bp.GELU(),
        bp.Conv2d(4, 4, 3, padding=1, dtype=f64, rng=rng),
    )
    projection = bp.Conv2d(3, 4, 1, stride=2, dtype=f64, rng=rng)
    yield "Residual, projection shortcut", bp.Residual(block, shortcut=projection), images, None, None
    logits = rng.standard_normal((4, 5))
    yield "SoftmaxCrossEntropy, labels", bp.SoftmaxCrossEntropy(), logits, labels, None
    soft_targets = rng.dirichlet(np.ones(5), size=4)
    yield "SoftmaxCrossEntropy, probabilities", bp.SoftmaxCrossEntropy("sum"), logits, soft_targets, None
    yield "CrossEntropy", bp.CrossEntropy(), probabilities, labels, None
    yield "BinaryCrossEntropy", bp.BinaryCrossEntropy(), probabilities, rng.uniform(size=(4, 5)), None
    yield "MSELoss", bp.MSELoss(), vectors, rng.standard_normal((4, 6)), None
    yield "SigmoidBinaryCrossEntropy", bp.SigmoidBinaryCrossEntropy(), logits, rng.uniform(size=(4, 5)), None
    yield "PoissonNLLLoss", bp.PoissonNLLLoss(), logits, rng.poisson(1.5, size=(4, 5)).astype(f64), None
    mlp = bp.Sequential(
        bp.Linear(6, 8, dtype=f64, rng=rng), bp.ReLU(), bp.Linear(8, 8, dtype=f64, rng=rng),
        bp.Sigmoid(), bp.Linear(8, 5, dtype=f64, rng=rng),
    )
    yield "MLP + SoftmaxCrossEntropy", mlp, vectors, labels, bp.SoftmaxCrossEntropy()
    cnn = bp.Sequential(
        bp.Conv2d(3, 4, 3, padding=1, dtype=f64, rng=rng), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(),
        bp.Linear(4 * 3 * 3, 5, dtype=f64, rng=rng),
    )
    yield "CNN + SoftmaxCrossEntropy", cnn, images[:, :, :6, :6], labels[:2], bp.SoftmaxCrossEntropy()


def _randomised(layer: bp.Layer, rng: np.random.Generator) -> bp.Layer:
    """``layer`` with random parameters: LayerNorm's start (gamma 1, beta 0) would hide a wrong gamma."""
    for array in layer.params.values():
        array[...] = rng.standard_normal(array.shape)
    return layer


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    failed = 0
    rows = []
    for label, component, x, targets, loss in cases(rng):
        result = bp.gradcheck(
            component, x, targets, loss=loss, directions=args.directions, rng=rng, raise_on_failure=False
        )
        failures = set(result.failures())
        failed += len(failures)
        for name, relative in result.relative_errors.items():
            verdict = "FAIL" if name in failures else "ok"
            rows.append([label, name, f"{relative:.2e}", f"{result.absolute_errors[name]:.2e}", verdict])
            label = ""
    header = ["component", "quantity", "relative error", "absolute error", "result"]
    lines = format_table(header, rows, "llrrl")
    print("\n".join([*lines, lines[1]]))
    if failed:
        print(f"{failed} gradient(s) disagree with finite differences")
        return 1
    print("every analytic gradient matches finite differences (float64, central differences)")
    return 0
