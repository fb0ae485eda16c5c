"""Seed 003: handwritten digits, by the slides' network and by a small convolutional one.

``digits`` is exactly the slides' ``f(x) = softmax(W2 ReLU(W1 ReLU(W0 x)))``: three Linear
layers *without* biases (``bp.Linear(..., bias=False)``), i.e. the slides' chain::

    x1 = W0 x,  x2 = ReLU(x1),  x3 = W1 x2,  x4 = ReLU(x3),  x5 = W2 x4,  y = softmax(x5),  e = H(y, t)

``cnn`` is the slides' other component list: convolution, ReLU, max-pool, linear, softmax.
Both train with the cross-entropy ``H(t, y) = -t . log y`` averaged over each mini-batch, by
plain SGD ``w <- w - eta dL/dw`` (no momentum), on the 1,797 8x8 digits that scikit-learn
ships, 80 % for training and 20 % held out for the test. The softmax is fused into the loss
(``SoftmaxCrossEntropy``), whose gradient is the slides' ``y - t``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

import backprop as bp

from ._setup import ExplainSetup

HIDDEN = (128, 64)
CHANNELS = 8


def build_mlp(
    hidden: tuple[int, int] = HIDDEN, dtype: DTypeLike = np.float32, rng: int | np.random.Generator = 0
) -> bp.Sequential:
    """``W2 ReLU(W1 ReLU(W0 x))`` with bias-free layers: W0 ``(h0, 64)``, W1 ``(h1, h0)``, W2 ``(10, h1)``."""
    rng = np.random.default_rng(rng)
    h0, h1 = hidden
    return bp.Sequential(
        bp.Linear(64, h0, bias=False, dtype=dtype, rng=rng),
        bp.ReLU(),
        bp.Linear(h0, h1, bias=False, dtype=dtype, rng=rng),
        bp.ReLU(),
        bp.Linear(h1, 10, bias=False, dtype=dtype, rng=rng),
    )


def build_cnn(
    channels: int = CHANNELS, dtype: DTypeLike = np.float32, rng: int | np.random.Generator = 0
) -> bp.Sequential:
    """Conv2d(1 -> channels, 3x3, padding 1), ReLU, MaxPool2d(2), Flatten, Linear(channels 4 4 -> 10)."""
    rng = np.random.default_rng(rng)
    return bp.Sequential(
        bp.Conv2d(1, channels, 3, padding=1, dtype=dtype, rng=rng),
        bp.ReLU(),
        bp.MaxPool2d(2),
        bp.Flatten(),
        bp.Linear(channels * 4 * 4, 10, dtype=dtype, rng=rng),
    )


def _train(
    model: bp.Sequential, images: bool, seed: int, epochs: int, lr: float, batch_size: int
) -> dict[str, Any]:
    x, labels = bp.datasets.load_digits(flatten=not images, dtype=np.float32)
    (x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, labels, 0.2, seed=seed)
    loss = bp.SoftmaxCrossEntropy()
    history = bp.fit(
        model, loss, bp.SGD(model, lr), x_train, y_train, epochs=epochs, batch_size=batch_size,
        seed=seed, progress=False,
    )
    test = bp.evaluate(model, loss, x_test, y_test)
    predictions = bp.predict(model, x_test[:10]).argmax(axis=1)
    return {
        "seed": seed,
        "model": str(model),
        "layers": [str(layer) for layer in model],
        "parameters": sum(p.size for p in model.params.values()),
        "train_samples": len(x_train),
        "test_samples": len(x_test),
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "loss_history": list(history["loss"]),
        "accuracy_history": list(history["accuracy"]),
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        "first_test_labels": y_test[:10].tolist(),
        "first_test_predictions": predictions.tolist(),
    }


def run_digits(seed: int = 0, epochs: int = 20, lr: float = 0.1, batch_size: int = 32) -> dict[str, Any]:
    """Train the slides' bias-free network; the numbers of the run and its test accuracy."""
    return _train(build_mlp(rng=seed), False, seed, epochs, lr, batch_size)


def run_cnn(seed: int = 0, epochs: int = 10, lr: float = 0.2, batch_size: int = 32) -> dict[str, Any]:
    """Train convolution, ReLU, max-pool, linear, softmax; the numbers of the run and its test accuracy."""
    return _train(build_cnn(rng=seed), True, seed, epochs, lr, batch_size)


def _report(title: str, result: dict[str, Any]) -> str:
    lines = [
        title,
        f"model ({result['parameters']:,} parameters, float32):",
        *(f"  {layer}" for layer in result["layers"]),
        f"data: the 8x8 digits, {result['train_samples']} for training, {result['test_samples']} held out"
        f" (seed {result['seed']})",
        f"training: plain SGD, eta = {result['lr']:g}, batches of {result['batch_size']},"
        " cross-entropy averaged over each batch",
        "",
        f"{'epoch':>5}  {'loss':>8}  {'accuracy':>8}",
    ]
    for epoch, (loss, accuracy) in enumerate(zip(result["loss_history"], result["accuracy_history"]), 1):
        lines.append(f"{epoch:>5}  {loss:>8.4f}  {accuracy:>8.4f}")
    lines += [
        "",
        f"test: loss {result['test_loss']:.4f}, accuracy {result['test_accuracy']:.4f}",
        f"first test digits {result['first_test_labels']}",
        f"predicted         {result['first_test_predictions']}",
    ]
    return "\n".join(lines) + "\n"


def report_digits(result: dict[str, Any]) -> str:
    """Per-epoch loss and accuracy, then the test result, of ``run_digits``."""
    return _report("Seed 003: f(x) = softmax(W2 ReLU(W1 ReLU(W0 x))), no biases, on the 8x8 digits", result)


def report_cnn(result: dict[str, Any]) -> str:
    """Per-epoch loss and accuracy, then the test result, of ``run_cnn``."""
    return _report("Seed 003: convolution, ReLU, max-pool, linear, softmax on the 8x8 digits", result)


def _batch(images: bool, seed: int, count: int = 4) -> tuple[np.ndarray, np.ndarray]:
    x, labels = bp.datasets.load_digits(flatten=not images, dtype=np.float64)
    chosen = np.random.default_rng(seed).choice(len(x), count, replace=False)
    return x[chosen], labels[chosen]


def explain_digits(seed: int = 0) -> ExplainSetup:
    """The same network in float64, freshly initialised, on 4 random digits, ``eta = 0.1``."""
    x, t = _batch(False, seed)
    return ExplainSetup(build_mlp(dtype=np.float64, rng=seed), bp.SoftmaxCrossEntropy(), x, t, 0.1)


def explain_cnn(seed: int = 0) -> ExplainSetup:
    """The same convolutional network in float64, freshly initialised, on 4 random digits, ``eta = 0.2``."""
    x, t = _batch(True, seed)
    return ExplainSetup(build_cnn(dtype=np.float64, rng=seed), bp.SoftmaxCrossEntropy(), x, t, 0.2)
