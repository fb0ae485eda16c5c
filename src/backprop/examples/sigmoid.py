"""Seeds 000 and 001: an l-layer network with sigmoid hidden layers, for classes, values and yes/no.

Seed 000's network: ``a^0 = x``, ``z_l = W_l a_{l-1} + b_l``, ``a_l = sigma(z_l)`` for the
hidden layers and a softmax output ``a_L = softmax(z_L)`` with the cross-entropy; going back,
``delta_L = p - t`` and ``delta_l = (W_{l+1}^T delta_{l+1}) * sigma'(z_l)`` with
``sigma'(z_l) = a_l (1 - a_l)``, ``dL/dW_l = delta_l a_{l-1}^T``, ``dL/db_l = delta_l``.

Seed 001 uses the same network for regression with a *linear* output ``O = z_L`` and the
squared error ``E = (y - O)^2``, whose output error is ``Delta = dE/dO = -2 (y - O)``; for a
batch, "we need to divide the dE/dO term by the number of samples in a batch if we are taking
average". That is ``MSELoss(reduction="mean")`` (and ``SoftmaxCrossEntropy``'s default
``"mean"``, whose output error is ``(p - t) / N``); ``run`` shows the factor on a batch.
``MSELoss`` averages over all ``N C`` outputs (PyTorch's convention), so with ``C`` outputs the
seeds' step ``alpha`` is ``lr = alpha C`` and Nielsen's ``eta`` (his cost has a 1/2) is
``lr = eta C / 2``; here ``C = 1`` and ``lr`` is the seeds' ``alpha``.

The third network answers yes or no with ONE sigmoid output unit, ``p = sigma(z_L)``, and the
binary cross-entropy ``-[t ln p + (1 - t) ln(1 - p)]``: the pair whose output error is again
the seeds' ``y - t``, ``delta_L = (sigma(z_L) - t) / N`` for the batch mean. The fused
``SigmoidBinaryCrossEntropy`` takes the logit ``z_L`` (so the model ends with ``Linear``, as the
softmax one does) and never takes the logarithm of a rounded probability.

Classification: the 8x8 digits (64 inputs, 10 classes). Regression: scikit-learn's bundled
diabetes data (442 patients, 10 measurements, a disease-progression score a year later),
inputs and target standardised with the training part's mean and standard deviation. Binary
classification: scikit-learn's bundled breast-cancer table (569 tumours, 30 measurements of
the cell nuclei; malignant 0, benign 1), inputs standardised the same way.
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
BINARY_HIDDEN = (16, 8)


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


def breast_cancer(seed: int = 0) -> dict[str, np.ndarray]:
    """The breast-cancer table split 80/20 (seeded), standardised with the training statistics.

    Targets are ``(N, 1)`` float32 columns of 0 (malignant) and 1 (benign), the shape of the
    network's one output.
    """
    from sklearn.datasets import load_breast_cancer  # scikit-learn is slow to import; only here

    bunch = load_breast_cancer()
    (x_train, t_train), (x_test, t_test) = bp.datasets.train_test_split(
        bunch.data, bunch.target[:, None].astype(np.float32), 0.2, seed=seed
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return {
        "x_train": ((x_train - mean) / std).astype(np.float32),
        "t_train": t_train,
        "x_test": ((x_test - mean) / std).astype(np.float32),
        "t_test": t_test,
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


def binary(
    seed: int = 0, hidden: Sequence[int] = BINARY_HIDDEN, epochs: int = 30, lr: float = 0.5
) -> dict[str, Any]:
    """Sigmoid hidden layers, one sigmoid output, binary cross-entropy, plain SGD on breast cancer.

    The baseline predicts the training part's commonest class for every test tumour.
    """
    data = breast_cancer(seed)
    model = build(data["x_train"].shape[1], hidden, 1, np.float32, seed)
    loss = bp.SigmoidBinaryCrossEntropy()
    history = bp.fit(
        model, loss, bp.SGD(model, lr), data["x_train"], data["t_train"], epochs=epochs, batch_size=32,
        seed=seed, progress=False,
    )
    test = bp.evaluate(model, loss, data["x_test"], data["t_test"])
    majority = float(np.round(data["t_train"].mean()))
    return {
        "model": str(model),
        "layers": len(hidden) + 1,
        "epochs": epochs,
        "lr": lr,
        "train_samples": len(data["x_train"]),
        "test_samples": len(data["t_test"]),
        "loss_history": list(history["loss"]),
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
        "majority_class": int(majority),
        "majority_accuracy": float(np.mean(data["t_test"] == majority)),
        "output_transform": model.output_transform,
        "probabilities": bp.predict(model, data["x_test"][:4]).ravel(),
        "output_rule": _output_rule(model, data["x_train"][:8], data["t_train"][:8]),
    }


def _output_rule(model: bp.Sequential, x: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """The fused loss's output error on one batch: ``(sigmoid(z) - t) / N``, computed two ways."""
    z = model(x)
    loss = bp.SigmoidBinaryCrossEntropy()
    loss(z, t)
    by_hand = (1 / (1 + np.exp(-z.astype(np.float64))) - t) / len(x)  # z is moderate here: no overflow
    delta = loss.backward()
    return {
        "n": len(x),
        "logits": z.ravel(),
        "targets": t.ravel(),
        "delta": delta.ravel(),
        "by_hand": by_hand.ravel(),
        "largest_difference": float(np.max(np.abs(by_hand - delta))),
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
    """The three networks: ``{"classification": ..., "regression": ..., "binary": ..., "seed": seed}``."""
    return {
        "classification": classify(seed), "regression": regress(seed), "binary": binary(seed), "seed": seed
    }


def report(result: dict[str, Any]) -> str:
    """The three trainings, their baselines, and the output errors of the mean and of the fused loss."""
    c, r, b = result["classification"], result["regression"], result["binary"]
    rule, fused = r["mean_rule"], b["output_rule"]
    numbers = {
        key: np.array2string(rule[key][:4], precision=4)
        for key in ("outputs", "targets", "delta_sum", "delta_mean")
    }
    numbers.update(
        (f"fused_{key}", np.array2string(fused[key][:4], precision=4)) for key in ("logits", "targets")
    )
    # the output errors are small: four significant digits each, in scientific notation
    numbers.update(
        (f"fused_{key}", np.array2string(fused[key][:4], formatter={"float_kind": "{: .3e}".format}))
        for key in ("delta", "by_hand")
    )
    class_name = ("malignant", "benign")[b["majority_class"]]
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
        "  MSELoss('mean') averages over all N C outputs, so with C outputs the seeds' step alpha is",
        "  lr = alpha C here, and Nielsen's eta (his cost has a 1/2) is lr = eta C / 2; here C = 1.",
        "",
        f"Binary classification, {b['layers']} layers:",
        f"  {b['model']}",
        "  one sigmoid output, binary cross-entropy on its logit (SigmoidBinaryCrossEntropy), plain SGD",
        f"  eta = {b['lr']:g}, {b['epochs']} epochs on the breast-cancer table"
        f" ({b['train_samples']} tumours for training, {b['test_samples']} for the test)",
        f"  loss per epoch: first {b['loss_history'][0]:.4f}, last {b['loss_history'][-1]:.4f}",
        f"  test accuracy {b['test_accuracy']:.4f}, test loss {b['test_loss']:.4f}"
        f" (guessing the commonest class, {class_name}: accuracy {b['majority_accuracy']:.4f})",
        f"  bp.predict: probabilities sigmoid(z) (output_transform {b['output_transform']!r})"
        f" {np.array2string(b['probabilities'], precision=4)}",
        "",
        f"Its output error delta_L = (sigmoid(z) - t) / N on a batch of N = {fused['n']} (first 4 shown):",
        f"  z (the logit)                                  {numbers['fused_logits']}",
        f"  t                                              {numbers['fused_targets']}",
        f"  (sigmoid(z) - t) / N, by hand in float64       {numbers['fused_by_hand']}",
        f"  SigmoidBinaryCrossEntropy().backward()         {numbers['fused_delta']}",
        f"  largest difference {fused['largest_difference']:.1e} (float32 rounding). The sigmoid's"
        " p (1 - p) cancels",
        "  the denominator of dL/dp = (p - t) / (p (1 - p)), leaving the seeds' y - t, as for softmax",
        "  and cross-entropy.",
    ]
    return "\n".join(lines) + "\n"


def explain_setup(seed: int = 0) -> ExplainSetup:
    """The regression network (two sigmoid layers, seed 001's ``Delta``), float64, on 4 patients."""
    data = diabetes(seed)
    model = build(data["x_train"].shape[1], REGRESSOR_HIDDEN, 1, np.float64, seed)
    return ExplainSetup(model, bp.MSELoss(), data["x_train"][:4], data["t_train"][:4], 0.05)
