"""``NeuralNetRegressor``: scikit-learn's ``MLPRegressor`` on backprop's layers and losses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..losses import Loss, MSELoss, PoissonNLLLoss
from .estimator import PARAMETERS, NeuralNet, stochastic

LOSSES = ("squared_error", "poisson")


class NeuralNetRegressor(RegressorMixin, NeuralNet):
    __doc__ = f"""A neural-network regressor, scikit-learn's ``MLPRegressor`` on backprop.

    ``y`` of shape ``(n,)`` gives predictions ``(n,)``; ``(n, n_targets)`` trains ``n_targets``
    outputs (multi-output regression), and ``n_outputs_`` is their number.

    loss : {{"squared_error", "poisson"}}, default "squared_error"
        "squared_error": identity outputs and half the squared error, ``MSELoss`` times
        ``n_outputs / 2`` (``out_activation_ = "identity"``). "poisson": outputs ``e^z`` for
        counts or rates ``y >= 0``, ``PoissonNLLLoss`` on the log-rates ``z`` (``"exp"``).
{PARAMETERS}"""

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        learning_rate: str | float = "constant",
        learning_rate_init: float = 1e-3,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
            beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, dtype=dtype,
        )
        self.loss = loss

    def _check_own_params(self) -> None:
        if self.loss not in LOSSES:
            raise self._fail("loss", f"one of {list(LOSSES)}", self.loss)

    def _loss(self) -> tuple[Loss, float]:
        if self.out_activation_ == "exp":
            # the mean over the n K outputs, times K: summed over the targets, averaged over the samples
            return PoissonNLLLoss(), float(self.n_outputs_)
        # MSELoss is (1/nK) sum (O - y)^2; scikit-learn's objective (1/2n) sum (O - y)^2 is K/2 of it
        return MSELoss(), self.n_outputs_ / 2

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> NeuralNetRegressor:
        """Train on ``(X, y)``: ``max_iter`` epochs at most (from the fitted weights with ``warm_start``)."""
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(stochastic)
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> NeuralNetRegressor:
        """One epoch over ``(X, y)``, starting a network on the first call."""
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool, reset: bool
    ) -> tuple[Any, np.ndarray, None]:
        X, y = self._check_data(X_in, y_in, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and not y.min() >= 0:
            raise ValueError(
                f"NeuralNetRegressor: loss='poisson' needs targets y >= 0, got a minimum of {y.min()}"
            )
        if reset:
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        return X, y.reshape(len(y), -1).astype(X.dtype, copy=False), None

    def _validation_score(self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        """R^2 on held-out ``(X, Y)``, as ``score``; NaN where a prediction is not finite."""
        predicted = self._forward(X)
        if not np.isfinite(predicted).all():
            return float("nan")
        if self.n_outputs_ == 1:
            Y, predicted = Y[:, 0], predicted[:, 0]
        return float(r2_score(Y, predicted, sample_weight=sample_weight))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """``(n_samples,)`` for one target, ``(n_samples, n_outputs_)`` for several."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
