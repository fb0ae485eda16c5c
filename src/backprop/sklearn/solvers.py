"""The two ways the estimators train their network: scikit-learn's procedures on backprop's passes.

Both minimise the objective scikit-learn's MLP minimises, for a batch of samples ``x_i`` with
weights ``s_i`` (1 without ``sample_weight``) and ``n = sum_i s_i``::

    J = (1/n) sum_i s_i l_i  +  (alpha / 2n) sum_layers ||W||^2

``l_i`` is sample i's loss, summed over its outputs: cross-entropy for the classifier, half the
squared error or the Poisson likelihood for the regressor (``_loss`` of each estimator gives
backprop's loss and the factor that turns its mean into that). ``loss_and_gradients`` evaluates
J once: the network's forward, the loss, the network's backward (every gradient set; the output
error is ``p - y`` for each of the four losses), then the penalty's gradient ``(alpha / n) W``
added to each weight's. The biases are not penalised.

``Solvers`` is the part of the estimators that trains (``NeuralNet`` inherits it):

- ``_fit_stochastic`` (``sgd``, ``adam``): epochs of shuffled batches, one optimiser step per
  batch; after each epoch the training loss (or, with early stopping, the validation score)
  is judged against ``tol`` and ``n_iter_no_change`` (scikit-learn's ``_fit_stochastic``).
- ``_fit_lbfgs``: J and its gradient on the whole data set, flattened, for SciPy's L-BFGS-B.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import shuffle as shuffled

from ..blas import axpy
from ..layers.linear import Linear
from ..losses import Loss
from ..model import Sequential
from ..optim import SGD, Adam, Optimizer

#: scikit-learn's "adaptive" schedule stops once the step size has shrunk to this.
SMALLEST_ADAPTIVE_STEP = 1e-6
#: Early stopping's held-out part: features, targets, sample weights (or None).
HeldOut = tuple[Any, np.ndarray, np.ndarray | None]


def loss_and_gradients(
    model: Sequential,
    loss: Loss,
    factor: float,
    alpha: float,
    X: Any,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    linears: list[Linear] | None = None,
) -> float:
    """J on the batch ``(X, Y)`` (the module's docstring); every gradient of ``model`` set to dJ/dparam.

    ``linears``: the model's Linear layers, whose weights the penalty takes (found if not given).
    """
    value = loss(model(X), Y, sample_weight=sample_weight)
    grad = loss.backward()
    if factor != 1.0:
        value *= factor
        grad *= grad.dtype.type(factor)
    model.backward(grad, input_grad=False)
    if alpha:
        count = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        decay = float(alpha) / count
        squares = 0.0
        if linears is None:
            linears = [layer for layer in model if isinstance(layer, Linear)]
        for layer in linears:
            weight, weight_grad = layer.weight, layer.grads["weight"]
            assert weight_grad is not None  # only fit installs the hooks that leave a gradient None
            flat = weight.reshape(-1)
            squares += float(np.dot(flat, flat))
            if not axpy(decay, weight, weight_grad):
                weight_grad += weight.dtype.type(decay) * weight
        value += 0.5 * decay * squares
    return value


class Solvers:
    """The training half of ``NeuralNet``: what it needs of the estimator is declared here."""

    # the estimator's parameters and fitted state (``NeuralNet`` and its subclasses set them)
    model_: Sequential
    optimizer_: Any
    alpha: float
    solver: str
    max_iter: int
    max_fun: int
    tol: float
    power_t: float
    shuffle: bool
    verbose: bool | int
    batch_size: int | str
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int | float
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    _no_improvement_count: int
    _best_params: list[np.ndarray]

    def _loss(self) -> tuple[Loss, float]:
        raise NotImplementedError

    def _schedule(self) -> tuple[str, float]:
        raise NotImplementedError

    def _validation_score(self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        raise NotImplementedError

    # -- sgd and adam ------------------------------------------------------------------------

    def _fit_stochastic(
        self,
        X: Any,
        Y: np.ndarray,
        labels: np.ndarray | None,
        sample_weight: np.ndarray | None,
        random_state: np.random.RandomState,
        incremental: bool,
    ) -> None:
        """``max_iter`` epochs at most (one for ``partial_fit``), stopping as scikit-learn stops."""
        schedule, step = self._schedule()
        if not incremental or self.optimizer_ is None:
            self.optimizer_ = self._new_optimizer(step)
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True: use fit, or set early_stopping=False"
            )
        held_out: HeldOut | None = None
        if self.early_stopping:
            X, Y, sample_weight, held_out = self._split(X, Y, labels, sample_weight, random_state)
        n = X.shape[0]
        batch_size = self._batch_size(n)
        loss, factor = self._loss()
        model, optimizer, alpha = self.model_, self.optimizer_, float(self.alpha)
        linears = [layer for layer in model if isinstance(layer, Linear)]
        order = np.arange(n)
        self.n_iter_ = 0
        model.train()
        try:
            for _ in range(self.max_iter):
                if self.shuffle:
                    order = shuffled(order, random_state=random_state)
                total = 0.0
                for start in range(0, n, batch_size):
                    stop = start + batch_size
                    rows = order[start:stop] if self.shuffle else slice(start, stop)
                    weights = None if sample_weight is None else sample_weight[rows]
                    if weights is not None and not weights.any():
                        continue  # a batch of zero weight contributes nothing: no step
                    value = loss_and_gradients(model, loss, factor, alpha, X[rows], Y[rows], weights, linears)
                    optimizer.step()
                    total += value * (min(stop, n) - start)
                self._end_epoch(total / n, n, held_out)
                if schedule == "invscaling" and isinstance(optimizer, SGD):
                    optimizer.set_lr(step / (self.t_ + 1) ** float(self.power_t), keep_velocity=True)
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._stops(schedule, optimizer):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the"
                        " optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if self.early_stopping:
            for array, best in zip(model.params.values(), self._best_params, strict=True):
                np.copyto(array, best)

    def _new_optimizer(self, step: float) -> Optimizer:
        if self.solver == "sgd":
            momentum = float(self.momentum)
            nesterov = bool(self.nesterovs_momentum) and momentum > 0
            return SGD(self.model_, lr=step, momentum=momentum, nesterov=nesterov)
        betas = (float(self.beta_1), float(self.beta_2))
        return Adam(self.model_, lr=step, betas=betas, eps=float(self.epsilon))

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        size = int(self.batch_size)
        if size > n:
            warnings.warn(
                f"{type(self).__name__}: batch_size={size} is larger than the {n} training samples;"
                f" each step takes all {n}",
                stacklevel=5,
            )
        return min(size, n)

    def _split(
        self,
        X: Any,
        Y: np.ndarray,
        labels: np.ndarray | None,
        sample_weight: np.ndarray | None,
        random_state: np.random.RandomState,
    ) -> tuple[Any, np.ndarray, np.ndarray | None, HeldOut]:
        """The training part and the held-out part of early stopping, drawn as scikit-learn draws them."""
        arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
        try:
            parts = train_test_split(
                *arrays, random_state=random_state, test_size=self.validation_fraction, stratify=labels
            )
        except ValueError as error:
            raise ValueError(
                f"{type(self).__name__}: early stopping cannot hold out validation_fraction="
                f"{self.validation_fraction} of {X.shape[0]} samples: {error}"
            ) from error
        train, held_out = parts[0::2], parts[1::2]
        if held_out[0].shape[0] < 2:
            raise ValueError(
                f"The validation set is too small: {type(self).__name__}'s early stopping holds out"
                f" {held_out[0].shape[0]} of {X.shape[0]} samples (validation_fraction="
                f"{self.validation_fraction}) and scoring needs 2. Increase 'validation_fraction'"
                " or the size of your dataset."
            )
        if sample_weight is None:
            return train[0], train[1], None, (held_out[0], held_out[1], None)
        return train[0], train[1], train[2], (held_out[0], held_out[1], held_out[2])

    def _end_epoch(self, epoch_loss: float, n: int, held_out: HeldOut | None) -> None:
        """The epoch's attributes, and whether it improved on the best by ``tol`` (scikit-learn's rule)."""
        self.n_iter_ += 1
        self.t_ += n
        self.loss_ = epoch_loss
        self.loss_curve_.append(epoch_loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {epoch_loss:.8f}")
        tol = float(self.tol)
        if held_out is None:
            best = self.best_loss_
            assert best is not None  # a float without early stopping
            # written as scikit-learn writes it, so that a NaN loss counts as no change there too
            improved = not epoch_loss > best - tol
            if epoch_loss < best:
                self.best_loss_ = epoch_loss
        else:
            score = self._validation_score(*held_out)
            # lists and floats with early stopping
            assert self.validation_scores_ is not None and self.best_validation_score_ is not None
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            # a NaN score counts as no change: every comparison with NaN is False
            improved = not score < self.best_validation_score_ + tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = [array.copy() for array in self.model_.params.values()]
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1

    def _stops(self, schedule: str, optimizer: Optimizer) -> bool:
        """After ``n_iter_no_change`` epochs without improvement: stop, or shrink an adaptive step."""
        judged = "Validation score" if self.early_stopping else "Training loss"
        message = (
            f"{judged} did not improve more than tol={self.tol:f} for"
            f" {self.n_iter_no_change} consecutive epochs."
        )
        if isinstance(optimizer, SGD) and schedule == "adaptive" and optimizer.lr > SMALLEST_ADAPTIVE_STEP:
            optimizer.set_lr(optimizer.lr / 5, keep_velocity=True)
            if self.verbose:
                print(f"{message} Setting learning rate to {optimizer.lr:f}")
            return False
        if self.verbose:
            print(f"{message} Stopping.")
        return True

    # -- lbfgs -------------------------------------------------------------------------------

    def _fit_lbfgs(self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        """SciPy's L-BFGS-B on J over every parameter, flattened, for ``max_iter`` iterations and
        ``max_fun`` evaluations at most; it stops once the largest gradient component is under ``tol``."""
        model = self.model_
        names = list(model.params)
        params = [model.params[name] for name in names]
        bounds = np.cumsum([0] + [array.size for array in params])
        loss, factor = self._loss()
        alpha = float(self.alpha)
        model.train()

        def set_params(theta: np.ndarray) -> None:
            for array, start, stop in zip(params, bounds[:-1], bounds[1:], strict=True):
                array.reshape(-1)[...] = theta[start:stop]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            set_params(theta)
            value = loss_and_gradients(model, loss, factor, alpha, X, Y, sample_weight)
            flat = []
            for name in names:
                grad = model.grads[name]
                assert grad is not None  # only fit installs the hooks that leave a gradient None
                flat.append(grad.reshape(-1))
            return value, np.concatenate(flat).astype(np.float64)

        def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {intermediate_result.fun:.8f}")

        start = np.concatenate([array.reshape(-1) for array in params]).astype(np.float64)
        result = scipy.optimize.minimize(
            objective,
            start,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": int(self.max_fun), "maxiter": int(self.max_iter), "gtol": float(self.tol)},
        )
        set_params(result.x)
        self.n_iter_ = min(int(result.nit), int(self.max_iter))
        self.loss_ = float(result.fun)
        if result.status != 0:
            warnings.warn(
                f"{type(self).__name__}: lbfgs stopped before converging, after {result.nit} iterations"
                f" and {result.nfev} evaluations of the loss (status {result.status}: {result.message});"
                " raise max_iter or max_fun, or scale the data (sklearn.preprocessing.StandardScaler)",
                ConvergenceWarning,
                stacklevel=4,
            )
