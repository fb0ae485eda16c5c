"""Seeds 000 and 001: an l-layer network with sigmoid hidden layers, for classes and for values.

Seed 000's network: ``a^0 = x``, ``z_l = W_l a_{l-1} + b_l``, ``a_l = sigma(z_l)`` for the
hidden layers and a softmax output ``a_L = softmax(z_L)`` with the cross-entropy; going back,
``delta_L = p - t`` and ``delta_l = (W_{l+1}^T delta_{l+1}) * sigma'(z_l)`` with
``sigma'(z_l) = a_l (1 - a_l)``, ``dL/dW_l = delta_l a_{l-1}^T``, ``dL/db_l = delta_l``.

Seed 001 uses the same network for regression with a *linear* output ``O = z_L`` and the
squared error ``E = (y - O)^2``, whose output error is ``Delta = dE/dO = -2 (y - O)``; for a
batch, "we need to divide the dE/dO term by the number of samples in a batch if we are taking
average". That is ``MSELoss(reduction="mean")`` (and ``SoftmaxCrossEntropy``'s default
``"mean"``, whose output error is ``(p - t) / N``); ``run`` shows the factor on a batch.

Classification: the 8x8 digits (64 inputs, 10 classes). Regression: scikit-learn's bundled
diabetes data (442 patients, 10 measurements, a disease-progression score a year later),
inputs and target standardised with the training part's mean and standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

import backprop as bp

from .. import architectures
from ._setup import ExplainSetup

CLASSIFIER_HIDDEN = (32, 16)
REGRESSOR_HIDDEN = (16, 8)


def build(
    inputs: int, hidden: Sequence[int], outputs: int, dtype: DTypeLike, rng: int | np.random.Generator
) -> bp.Sequential:
    """``Linear, Sigmoid`` per hidden size, then a last ``Linear`` (its softmax, if any, is in the loss).

    The ``sigmoid-mlp`` of ``architectures.build``, for vectors of ``inputs`` features.
    """
    return architectures.build("sigmoid-mlp", (inputs,), outputs, hidden, dtype=dtype, rng=rng)


def diabetes(seed: int = 0) -> dict[str, np.ndarray]:
    """The diabetes data split 80/20 (seeded) and standardised with the training statistics."""
    from sklearn.datasets import load_diabetes  # scikit-learn is slow to import; only here

    bunch = load_diabetes()
    (x_train, t_train), (x_test, t_test) = bp.datasets.train_test_split(
        bunch.data, bunch.target[:, None], 0.2, seed=seed
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    t_mean, t_std = t_train.mean(), t_train.std()
    return {
        "x_train": (x_train - mean) / std,
        "t_train": (t_train - t_mean) / t_std,
        "x_test": (x_test - mean) / std,
        "t_test": t_test,
        "t_mean": t_mean,
        "t_std": t_std,
    }


def classify(
    seed: int = 0, hidden: Sequence[int] = CLASSIFIER_HIDDEN, epochs: int = 20, lr: float = 1.0
) -> dict[str, Any]:
    """Sigmoid hidden layers, softmax output, cross-entropy, plain SGD on the digits."""
    x, labels = bp.datasets.load_digits(flatten=True, dtype=np.float32)
    (x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, labels, 0.2, seed=seed)
    model = build(64, hidden, 10, np.float32, seed)
    loss = bp.SoftmaxCrossEntropy()
    history = bp.fit(
        model, loss, bp.SGD(model, lr), x_train, y_train, epochs=epochs, batch_size=32, seed=seed,
        progress=False,
    )
    test = bp.evaluate(model, loss, x_test, y_test)
    return {
        "model": str(model),
        "layers": len(hidden) + 1,
        "epochs": epochs,
        "lr": lr,
        "loss_history": list(history["loss"]),
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        "chance_accuracy": float(np.max(np.bincount(y_test)) / len(y_test)),
    }


def regress(
    seed: int = 0, hidden: Sequence[int] = REGRESSOR_HIDDEN, epochs: int = 100, lr: float = 0.05
) -> dict[str, Any]:
    """Sigmoid hidden layers, linear output, mean squared error, plain SGD on the diabetes data.

    Test errors are in the target's own units (squared); the baselines are predicting the
    training mean for everyone, and linear least squares.
    """
    data = diabetes(seed)
    model = build(data["x_train"].shape[1], hidden, 1, np.float64, seed)
    loss = bp.MSELoss(reduction="mean")
    history = bp.fit(
        model, loss, bp.SGD(model, lr), data["x_train"], data["t_train"], epochs=epochs, batch_size=32,
        seed=seed, progress=False,
    )
    predictions = bp.predict(model, data["x_test"]) * data["t_std"] + data["t_mean"]
    t_test = data["t_test"]
    design = np.column_stack([np.ones(len(data["x_train"])), data["x_train"]])
    w = np.linalg.lstsq(design, data["t_train"], rcond=None)[0]
    linear = (np.column_stack([np.ones(len(t_test)), data["x_test"]]) @ w) * data["t_std"] + data["t_mean"]
    test_mse = float(np.mean((predictions - t_test) ** 2))
    baseline = float(np.mean((data["t_mean"] - t_test) ** 2))
    return {
        "model": str(model),
        "layers": len(hidden) + 1,
        "epochs": epochs,
        "lr": lr,
        "train_samples": len(data["x_train"]),
        "test_samples": len(t_test),
        "loss_history": list(history["loss"]),
        "test_mse": test_mse,
        "baseline_mse": baseline,
        "linear_mse": float(np.mean((linear - t_test) ** 2)),
        "r2": 1 - test_mse / float(np.var(t_test)),
        "mean_rule": _mean_rule(model, data["x_train"][:8], data["t_train"][:8]),
    }


def _mean_rule(model: bp.Sequential, x: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """Seed 001's rule on one batch: the output error of the mean is that of the sum over N."""
    outputs = model(x)
    total, mean = bp.MSELoss("sum"), bp.MSELoss("mean")
    total(outputs, t)
    mean(outputs, t)
    delta_sum, delta_mean = total.backward().ravel(), mean.backward().ravel()
    return {
        "n": len(x),
        "outputs": outputs.ravel(),
        "targets": t.ravel(),
        "delta_sum": delta_sum,
        "delta_mean": delta_mean,
        "largest_difference": float(np.max(np.abs(delta_sum / len(x) - delta_mean))),
    }


def run(seed: int = 0) -> dict[str, Any]:
    """Both networks: ``{"classification": ..., "regression": ..., "seed": seed}``."""
    return {"classification": classify(seed), "regression": regress(seed), "seed": seed}


def report(result: dict[str, Any]) -> str:
    """Both trainings, their baselines, and the output error of the sum and of the mean."""
    c, r = result["classification"], result["regression"]
    rule = r["mean_rule"]
    numbers = {
        key: np.array2string(rule[key][:4], precision=4)
        for key in ("outputs", "targets", "delta_sum", "delta_mean")
    }
    lines = [
        f"Seeds 000 and 001: sigmoid hidden layers (seed {result['seed']})",
        "",
        f"Classification, {c['layers']} layers:",
        f"  {c['model']}",
        f"  softmax output, cross-entropy, plain SGD eta = {c['lr']:g}, {c['epochs']} epochs on the digits",
        f"  loss per epoch: first {c['loss_history'][0]:.4f}, last {c['loss_history'][-1]:.4f}",
        f"  test accuracy {c['test_accuracy']:.4f}, test loss {c['test_loss']:.4f}"
        f" (guessing the commonest class: accuracy {c['chance_accuracy']:.4f})",
        "",
        f"Regression, {r['layers']} layers:",
        f"  {r['model']}",
        f"  linear output, squared error, plain SGD eta = {r['lr']:g}, {r['epochs']} epochs on the diabetes"
        f" data",
        f"  ({r['train_samples']} patients for training, {r['test_samples']} for the test)",
        f"  loss per epoch (standardised target): first {r['loss_history'][0]:.4f},"
        f" last {r['loss_history'][-1]:.4f}",
        f"  test mean squared error {r['test_mse']:.1f}, R^2 {r['r2']:.3f}",
        f"  baselines: predicting the training mean {r['baseline_mse']:.1f}, linear least squares"
        f" {r['linear_mse']:.1f}",
        "",
        f"Seed 001's output error Delta = -2 (y - O) on a batch of N = {rule['n']} (first 4 shown):",
        f"  O                                     {numbers['outputs']}",
        f"  y                                     {numbers['targets']}",
        f"  MSELoss('sum').backward()  = Delta    {numbers['delta_sum']}",
        f"  MSELoss('mean').backward() = Delta/N  {numbers['delta_mean']}",
        f"  largest |Delta / N - Delta_mean| = {rule['largest_difference']:.1e}: averaging over the batch"
        " divides",
        "  the output error by N, and the chain rule carries that 1/N into every dL/dW.",
    ]
    return "\n".join(lines) + "\n"


def explain_setup(seed: int = 0) -> ExplainSetup:
    """The regression network (two sigmoid layers, seed 001's ``Delta``), float64, on 4 patients."""
    data = diabetes(seed)
    model = build(data["x_train"].shape[1], REGRESSOR_HIDDEN, 1, np.float64, seed)
    return ExplainSetup(model, bp.MSELoss(), data["x_train"][:4], data["t_train"][:4], 0.05)
