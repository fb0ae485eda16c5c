"""Seed 003: the polynomial ``f_w(x) = w2 x^2 + w1 x + w0`` fitted by gradient descent and by SGD.

The data are noisy samples of a known polynomial (``bp.datasets.polynomial``). On the
features ``[x, x^2]`` (``bp.datasets.polynomial_features``) a ``Linear(2 -> 1)`` layer *is*
``f_w``: its weight is ``(w1, w2)``, its bias ``w0``. The loss is the squared error averaged
over the N samples (``MSELoss(reduction="mean")``)::

    L(w) = (1/N) sum_i (w2 x_i^2 + w1 x_i + w0 - t_i)^2
    dL/dw = (1/N) sum_i 2 (w2 x_i^2 + w1 x_i + w0 - t_i) (1, x_i, x_i^2)

which is the seed's sum divided by N (so the seed's ``eta`` is ours divided by N). Both
trainings start from ``w = 0``:

- gradient descent, the whole data set every step (``fit(..., batch_size=None)``);
- mini-batch SGD, a fresh shuffle every epoch, with the learning rate annealed to 0 by a
  cosine schedule: at a constant rate the noise of the batches keeps ``w`` moving around the
  minimum instead of settling on it.

The minimum of ``L`` is the least-squares solution, which ``numpy.linalg.lstsq`` computes
directly; both trainings are compared with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import backprop as bp

from ._setup import ExplainSetup

TRUE = (0.5, -1.0, 2.0)  # (w0, w1, w2): f(x) = 2 x^2 - x + 0.5
NOISE = 0.2
DEFAULT_PLOT = Path("runs") / "example-regression.png"


def data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x (n, 1)``, the features ``[x, x^2] (n, 2)`` and the targets ``t (n, 1)``, float64."""
    x, t = bp.datasets.polynomial(n, TRUE, noise=NOISE, seed=seed, dtype=np.float64)
    return x, bp.datasets.polynomial_features(x, 2), t


def coefficients(model: bp.Linear) -> np.ndarray:
    """``(w0, w1, w2)`` of the model: the bias, then the weights of ``x`` and ``x^2``."""
    return np.array([model.params["bias"][0], *model.weight[0]])


def _train(
    features: np.ndarray, t: np.ndarray, lr: float, epochs: int, batch_size: int | None, seed: int
) -> tuple[bp.Linear, bp.History]:
    model = bp.Linear(2, 1, dtype=np.float64)
    bp.init.zeros(model.weight)
    bp.init.zeros(model.params["bias"])
    optimizer = bp.SGD(model, lr)
    schedule = None if batch_size is None else bp.CosineLR(optimizer, epochs)
    history = bp.fit(
        model, bp.MSELoss(), optimizer, features, t, epochs=epochs, batch_size=batch_size,
        seed=seed, progress=False, schedule=schedule,
    )
    return model, history


def run(
    seed: int = 0,
    n: int = 200,
    gd_epochs: int = 300,
    gd_lr: float = 0.5,
    sgd_epochs: int = 100,
    sgd_lr: float = 0.2,
    batch_size: int = 10,
    plot: str | Path | None = None,
) -> dict[str, Any]:
    """Fit by gradient descent and by SGD; return both against ``lstsq`` (and draw them if ``plot``).

    Coefficients are ``(w0, w1, w2)``; ``"*_loss"`` are the final mean squared errors on
    the data, ``"*_history"`` the per-epoch mean loss.
    """
    x, features, t = data(n, seed)
    design = np.column_stack([np.ones(n), features])  # the columns 1, x, x^2 of (w0, w1, w2)
    exact = np.linalg.lstsq(design, t, rcond=None)[0].ravel()
    loss = bp.MSELoss()
    gd, gd_history = _train(features, t, gd_lr, gd_epochs, None, seed)
    sgd, sgd_history = _train(features, t, sgd_lr, sgd_epochs, batch_size, seed)
    result = {
        "seed": seed,
        "n": n,
        "true": np.array(TRUE),
        "lstsq": exact,
        "lstsq_loss": loss(design @ exact[:, None], t),
        "gd": coefficients(gd),
        "gd_loss": bp.evaluate(gd, loss, features, t)["loss"],
        "gd_history": list(gd_history["loss"]),
        "gd_settings": {"lr": gd_lr, "epochs": gd_epochs},
        "sgd": coefficients(sgd),
        "sgd_loss": bp.evaluate(sgd, loss, features, t)["loss"],
        "sgd_history": list(sgd_history["loss"]),
        "sgd_settings": {"lr": sgd_lr, "epochs": sgd_epochs, "batch_size": batch_size},
        "plot": None,
    }
    if plot is not None:
        result["plot"] = draw(x, t, gd, sgd, result, plot)
    return result


def draw(
    x: np.ndarray, t: np.ndarray, gd: bp.Linear, sgd: bp.Linear, result: dict[str, Any], path: str | Path
) -> Path:
    """Data, the two fitted curves, and both loss curves beside the least-squares loss, as a PNG."""
    from ..plots import plot_regression  # matplotlib: only when drawing

    grid = np.linspace(x.min(), x.max(), 200)
    features = bp.datasets.polynomial_features(grid, 2)
    return plot_regression(
        x,
        t,
        grid,
        {"gradient descent": gd(features)[:, 0], "SGD": sgd(features)[:, 0]},
        path,
        history={"gradient descent": result["gd_history"], "SGD": result["sgd_history"]},
        reference_loss=result["lstsq_loss"],
    )


def report(result: dict[str, Any]) -> str:
    """The three solutions side by side, the losses along the way, and where the plot went."""
    gd, sgd = result["gd_settings"], result["sgd_settings"]
    rows = [
        ("true polynomial", result["true"], None, False),
        ("least squares (numpy lstsq)", result["lstsq"], result["lstsq_loss"], False),
        (f"gradient descent, {gd['epochs']} steps", result["gd"], result["gd_loss"], True),
        (f"SGD, {sgd['epochs']} epochs, batches of {sgd['batch_size']}", result["sgd"], result["sgd_loss"],
         True),
    ]
    lines = [
        f"Seed 003: fit f(x) = w2 x^2 + w1 x + w0 to {result['n']} samples of 2 x^2 - x + 0.5",
        f"plus Gaussian noise (sd {NOISE}, seed {result['seed']}).",
        "Linear(2 -> 1) on the features [x, x^2]: weight (w1, w2), bias w0. Loss: the mean squared error",
        "(1/N) sum_i (f(x_i) - t_i)^2, the seed's sum divided by N. Both start from w = 0.",
        "",
        f"{'':<32}{'w0':>12}{'w1':>12}{'w2':>12}{'loss':>14}{'|w - lstsq|':>14}",
    ]
    for label, w, value, trained in rows:
        loss = "" if value is None else f"{value:.10f}"
        distance = f"{np.max(np.abs(w - result['lstsq'])):.1e}" if trained else ""
        lines.append(f"{label:<32}{w[0]:>12.8f}{w[1]:>12.8f}{w[2]:>12.8f}{loss:>14}{distance:>14}".rstrip())
    lines += [
        "",
        f"gradient descent: eta = {gd['lr']:g}, the whole data set each step.",
        f"SGD: eta = {sgd['lr']:g} annealed to 0 by a cosine schedule; at a constant eta the batches' noise",
        "keeps w wandering around the minimum instead of settling on it.",
        "",
    ]
    histories = {"gradient descent": result["gd_history"], "SGD": result["sgd_history"]}
    longest = max(map(len, histories.values()))
    epochs = sorted({1, 2, 5, 10, 20, 50, 100, 200, longest} & set(range(1, longest + 1)))
    lines.append(f"{'loss after epoch':<18}" + "".join(f"{epoch:>8}" for epoch in epochs))
    for name, history in histories.items():
        values = [f"{history[epoch - 1]:>8.4f}" if epoch <= len(history) else "" for epoch in epochs]
        lines.append(f"{name:<18}" + "".join(values))
    if result["plot"] is not None:
        lines += ["", f"plot: {result['plot']}"]
    return "\n".join(lines) + "\n"


def explain_setup(seed: int = 0) -> ExplainSetup:
    """The polynomial model (seeded initial weights) on the first 4 samples, ``eta = 0.5``."""
    _, features, t = data(4, seed)
    model = bp.Linear(2, 1, dtype=np.float64, rng=seed)
    return ExplainSetup(model, bp.MSELoss(), features, t, 0.5)
