"""scikit-learn estimators built on backprop's layers, losses, optimisers and ``fit``.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from backprop.sklearn import NeuralNetClassifier

    clf = make_pipeline(StandardScaler(), NeuralNetClassifier(hidden_layer_sizes=(100,)))
    clf.fit(x_train, y_train).score(x_test, y_test)

The network is ``Linear - activation - ... - Linear`` (``backprop.architectures.build("mlp")``):

- ``NeuralNetClassifier`` ends in one logit per class and trains with ``SoftmaxCrossEntropy``,
  binary problems included (two logits: a softmax over two classes is the logistic sigmoid of
  their difference); ``predict_proba`` is the softmax, ``predict`` the class of the largest.
- ``NeuralNetRegressor`` ends in one identity output per target and trains with ``MSELoss``;
  ``y`` of shape ``(n,)`` or ``(n, n_targets)`` (multi-output regression).

Each ``fit`` is one call to ``bp.fit`` for ``max_iter`` epochs, each ``partial_fit`` one call
for one epoch. The trained network (``model_``), its optimiser (``optimizer_``) and the
generator that draws every seed stay on the estimator, so ``partial_fit`` and ``fit`` with
``warm_start=True`` continue where the last call stopped, momentum buffers, Adam moments and
step count included. A copy of a fitted estimator (pickle, ``joblib.dump``/``load``,
``copy.deepcopy``) goes on exactly as the original would: its optimiser updates the copied
network, not arrays the network no longer reads (``optim``'s module docstring says how).
``model_`` is an ordinary backprop model: ``bp.save``, ``bp.explain`` and ``bp.predict`` take it.

The data type: ``dtype=None`` keeps float32 and float64 input as it is (float32 input trains a
float32 network) and turns anything else into float64; ``dtype="float32"`` or ``"float64"``
fixes it. Later calls convert their input to the network's dtype.

Not the same as scikit-learn's ``MLPClassifier``/``MLPRegressor``: without
``early_stopping`` every one of the ``max_iter`` epochs runs (there is no ``tol``), early
stopping watches the validation loss (not the score) and keeps the best weights, ``alpha``
decays the biases too, weights start as PyTorch's default (``bp.Linear``'s) rather than
Glorot's, and ``warm_start`` keeps the optimiser's state rather than starting a new optimiser.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .architectures import ACTIVATIONS, build
from .datasets.split import train_test_split
from .dtypes import resolve_dtype
from .layers.linear import Linear
from .losses import Loss, MSELoss, SoftmaxCrossEntropy
from .optim import SGD, Adam, Optimizer
from .setup import OPTIMIZERS, make_optimizer
from .training import fit, predict
from .validation import is_integer, is_number

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

SOLVERS = OPTIMIZERS  # "sgd" and "adam", built by ``setup.make_optimizer``
_MAX_SEED = np.iinfo(np.int64).max


_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer; ``()`` for none (a linear or softmax regression).
    activation : {"relu", "tanh", "sigmoid"}, default "relu"
        The hidden layers' activation.
    solver : {"adam", "sgd"}, default "adam"
        ``bp.Adam`` (betas 0.9, 0.999, eps 1e-8) or ``bp.SGD`` with Nesterov ``momentum``.
    learning_rate : float, default 1e-3
        The optimiser's step size ``eta``.
    batch_size : int or "auto", default "auto"
        Samples per step; "auto" is ``min(200, n_samples)``, as in scikit-learn's MLP.
    max_iter : int, default 200
        Epochs (passes over the data) of each ``fit``.
    momentum : float in [0, 1), default 0.9
        SGD's momentum ``mu`` (Nesterov when positive); unused by Adam.
    alpha : float, default 1e-4
        L2 penalty ``alpha / (2 B) sum w^2`` per batch of ``B = batch_size`` samples, so the
        gradient gains ``(alpha / B) w`` (scikit-learn's scaling); every parameter decays.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data (stratified for a classifier), stop when
        the validation loss has not fallen for ``n_iter_no_change`` epochs, keep the best
        weights. ``partial_fit`` never stops early.
    validation_fraction : float in (0, 1), default 0.1
    n_iter_no_change : int, default 10
    warm_start : bool, default False
        ``fit`` continues from the fitted network and optimiser state instead of starting anew.
    random_state : int, numpy RandomState or None, default None
        Seeds the weights, the validation split and every epoch's shuffle; an int gives the
        same network every time.
    dtype : None, "float32" or "float64", default None
        The network's dtype; None follows the input (see the module's docstring).
    verbose : bool, default False
        Print one line per epoch (``bp.fit``'s summary).

    Fitted attributes: ``model_`` (the ``bp.Sequential``), ``optimizer_``, ``n_features_in_``,
    ``loss_`` (the last epoch's training loss), ``loss_curve_`` (one training loss per epoch,
    over every call), ``validation_loss_curve_`` (with early stopping, else empty), ``n_iter_``
    (epochs run, over every call), ``t_`` (optimiser steps taken).
"""


class _NeuralNet(BaseEstimator):
    """What both estimators share: the hyper-parameters, their checks, the training call."""

    _loss_class: type[Loss]

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        solver: str = "adam",
        learning_rate: float = 1e-3,
        batch_size: int | str = "auto",
        max_iter: int = 200,
        momentum: float = 0.9,
        alpha: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        dtype: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.momentum = momentum
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    # -- hyper-parameter checks (in fit, never in __init__ or set_params, as scikit-learn asks)

    def _fail(self, name: str, expected: str, value: object) -> ValueError:
        return ValueError(f"{type(self).__name__}: {name} must be {expected}, got {value!r}")

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
        if (
            not isinstance(sizes, (Sequence, np.ndarray))
            or isinstance(sizes, str)
            or not all(is_integer(size) and size >= 1 for size in sizes)
        ):
            raise self._fail("hidden_layer_sizes", "a positive integer or a sequence of them", sizes)
        return tuple(int(size) for size in sizes)

    def _check_params(self) -> None:
        self._hidden_sizes()
        if self.activation not in ACTIVATIONS:
            raise self._fail("activation", f"one of {sorted(ACTIVATIONS)}", self.activation)
        if self.solver not in SOLVERS:
            raise self._fail("solver", f"one of {sorted(SOLVERS)}", self.solver)
        if not is_number(self.learning_rate) or self.learning_rate <= 0:
            raise self._fail("learning_rate", "a positive number", self.learning_rate)
        if self.batch_size != "auto" and not (is_integer(self.batch_size) and self.batch_size >= 1):
            raise self._fail("batch_size", "a positive integer or 'auto'", self.batch_size)
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if not is_integer(value) or value < 1:
                raise self._fail(name, "a positive integer", value)
        if not is_number(self.momentum) or not 0 <= self.momentum < 1:
            raise self._fail("momentum", "a number in [0, 1)", self.momentum)
        if not is_number(self.alpha) or self.alpha < 0:
            raise self._fail("alpha", "a non-negative number", self.alpha)
        if not is_number(self.validation_fraction) or not 0 < self.validation_fraction < 1:
            raise self._fail("validation_fraction", "a number in (0, 1)", self.validation_fraction)
        for name in ("early_stopping", "warm_start", "verbose"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise self._fail(name, "True or False", getattr(self, name))
        state = self.random_state
        if isinstance(state, (bool, np.bool_)) or not (
            state is None or is_integer(state) or isinstance(state, np.random.RandomState)
        ):
            raise self._fail("random_state", "None, an integer or a numpy RandomState", state)
        if self.dtype is not None:
            resolve_dtype(self.dtype, type(self).__name__)

    # -- data

    def _input_dtype(self, continuing: bool) -> Any:
        """The dtype ``validate_data`` converts ``X`` to: the network's, the user's, or float64/32."""
        if continuing:
            return self._model_dtype()
        if self.dtype is not None:
            return resolve_dtype(self.dtype)
        # The first entry is what every other input (ints, bools, objects) becomes.
        return [np.float64, np.float32]

    def _continues(self) -> bool:
        """Whether ``fit`` goes on training the fitted network (``warm_start``) or starts anew.

        Going on needs the network the hyper-parameters describe: a warm start after
        ``set_params`` changed its shape or activation would silently train the old one.
        """
        if not (self.warm_start and hasattr(self, "model_")):
            return False
        linears = [layer for layer in self.model_ if isinstance(layer, Linear)]
        fitted = tuple(layer.out_features for layer in linears[:-1])
        activations = {type(layer) for layer in self.model_ if not isinstance(layer, Linear)}
        if fitted != self._hidden_sizes() or not activations <= {ACTIVATIONS[self.activation]}:
            raise ValueError(
                f"{type(self).__name__}: warm_start=True continues the fitted network, hidden"
                f" sizes {fitted}, but hidden_layer_sizes={self.hidden_layer_sizes!r} and"
                f" activation={self.activation!r} now describe another; fit with warm_start=False"
            )
        return True

    def _model_dtype(self) -> np.dtype:
        return next(iter(self.model_.params.values())).dtype

    def _batch_size(self, n_samples: int) -> int:
        return min(200, n_samples) if self.batch_size == "auto" else min(int(self.batch_size), n_samples)

    # -- training

    def _start(self, n_features: int, n_outputs: int, dtype: np.dtype) -> None:
        """A new network, optimiser, generator and history: what ``fit`` without warm start does."""
        state = self.random_state
        seed = int(state) if is_integer(state) else int(check_random_state(state).randint(2**31 - 1))
        self._rng = np.random.default_rng(seed)
        self.model_ = build(
            "mlp",
            (n_features,),
            n_outputs,
            hidden=self._hidden_sizes(),
            activation=self.activation,
            dtype=dtype,
            rng=self._rng,
        )
        self.optimizer_: Optimizer | None = None
        self.loss_curve_: list[float] = []
        self.validation_loss_curve_: list[float] = []
        self.n_iter_ = 0

    def _optimizer(self, batch_size: int) -> Optimizer:
        """The optimiser of the last call with this call's settings, or a new one if it cannot be.

        Its state (momentum buffers, Adam moments, step count) carries over. A new optimiser
        is made only on the first call, or when the solver changed, or when momentum or the
        penalty switched between zero and non-zero (which changes the buffers it needs).
        """
        decay = float(self.alpha) / batch_size
        momentum = float(self.momentum)
        optimizer = self.optimizer_
        kind = SOLVERS[self.solver]
        reusable = (
            type(optimizer) is kind
            and (optimizer.weight_decay > 0) == (decay > 0)
            and (kind is Adam or (optimizer.momentum > 0) == (momentum > 0))
        )
        if not reusable:
            optimizer = make_optimizer(
                self.solver, self.model_, self.learning_rate,
                momentum=momentum, nesterov=momentum > 0, weight_decay=decay,
            )
            self.optimizer_ = optimizer
        optimizer.lr = float(self.learning_rate)
        optimizer.weight_decay = decay
        if kind is SGD:
            optimizer.momentum = momentum
        return optimizer

    def _train(self, X: np.ndarray, y: np.ndarray, epochs: int, incremental: bool) -> None:
        """Run ``bp.fit`` on the network in place; ``y`` is already what the loss takes."""
        validation = None
        patience = None
        stratify = isinstance(self, ClassifierMixin)
        if self.early_stopping and not incremental:
            try:
                (X, y), validation = train_test_split(
                    X, y, test_fraction=float(self.validation_fraction), seed=self._rng, stratify=stratify
                )
            except ValueError as error:
                raise ValueError(
                    f"{type(self).__name__}: early_stopping needs a validation part"
                    f" (validation_fraction={self.validation_fraction}) and a training part: {error}"
                ) from error
            patience = int(self.n_iter_no_change)
        batch_size = self._batch_size(len(X))
        optimizer = self._optimizer(batch_size)
        history = fit(
            model=self.model_,
            loss=self._loss_class(),
            optimizer=optimizer,
            x=X,
            y=y,
            epochs=int(epochs),
            batch_size=batch_size,
            validation_data=validation,
            seed=int(self._rng.integers(_MAX_SEED)),
            progress=bool(self.verbose),
            shuffle=True,
            patience=patience,
        )
        self.loss_curve_.extend(history["loss"])
        self.validation_loss_curve_.extend(history["val_loss"])
        self.n_iter_ += len(history["loss"])
        self.loss_ = self.loss_curve_[-1]
        self.t_ = optimizer.t

    def _outputs(self, X: ArrayLike) -> np.ndarray:
        """The network's predictions for ``X`` (probabilities for the classifier)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._model_dtype())
        return predict(self.model_, X)


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    __doc__ = f"""A neural-network classifier: hidden layers, one logit per class, softmax cross-entropy.

    Labels may be integers or strings, binary or multi-class, one per sample; ``classes_``
    holds them sorted, and the columns of ``predict_proba`` follow that order.
{_PARAMETERS}"""

    _loss_class = SoftmaxCrossEntropy

    def fit(self, X: ArrayLike, y: ArrayLike) -> NeuralNetClassifier:
        """Train for ``max_iter`` epochs (from the fitted state with ``warm_start=True``)."""
        self._check_params()
        continuing = self._continues()
        X, y = validate_data(self, X, y, reset=not continuing, dtype=self._input_dtype(continuing))
        check_classification_targets(y)
        if not continuing:
            self.classes_ = np.unique(y)
            self._start(X.shape[1], len(self.classes_), X.dtype)
        self._train(X, self._encode(y), self.max_iter, incremental=False)
        return self

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None
    ) -> NeuralNetClassifier:
        """One epoch over ``(X, y)``; the first call must name every class in ``classes``."""
        self._check_params()
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError(
                "NeuralNetClassifier.partial_fit: the first call must pass classes=, every label"
                " the classifier will see (the network has one output per class)"
            )
        X, y = validate_data(self, X, y, reset=first, dtype=self._input_dtype(not first))
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"NeuralNetClassifier.partial_fit: classes={classes.tolist()} differ from"
                    f" those of the first call, {self.classes_.tolist()}"
                )
        if first:
            self.classes_ = classes
            self._start(X.shape[1], len(classes), X.dtype)
        self._train(X, self._encode(y), 1, incremental=True)
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n_samples, n_classes)`` softmax probabilities, columns in the order of ``classes_``."""
        return self._outputs(X)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """The logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each sample, one of ``classes_``."""
        probabilities = self._outputs(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Labels as int64 positions in ``classes_``, what ``SoftmaxCrossEntropy`` takes."""
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"NeuralNetClassifier: labels {np.unique(y[unknown]).tolist()} are not among the"
                f" classes it was first fitted on, {self.classes_.tolist()}"
            )
        return index.astype(np.int64)


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    __doc__ = f"""A neural-network regressor: hidden layers, identity outputs, mean squared error.

    ``y`` of shape ``(n,)`` gives predictions ``(n,)``; ``(n, n_targets)`` trains ``n_targets``
    outputs (multi-output regression), and ``n_outputs_`` is their number.
{_PARAMETERS}"""

    _loss_class = MSELoss

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: ArrayLike, y: ArrayLike) -> NeuralNetRegressor:
        """Train for ``max_iter`` epochs (from the fitted state with ``warm_start=True``)."""
        self._check_params()
        continuing = self._continues()
        X, y = self._validate(X, y, continuing)
        if not continuing:
            self.n_outputs_ = y.shape[1]
            self._start(X.shape[1], self.n_outputs_, X.dtype)
        self._train(X, self._targets(y), self.max_iter, incremental=False)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> NeuralNetRegressor:
        """One epoch over ``(X, y)``, starting a network on the first call."""
        self._check_params()
        first = not hasattr(self, "model_")
        X, y = self._validate(X, y, not first)
        if first:
            self.n_outputs_ = y.shape[1]
            self._start(X.shape[1], self.n_outputs_, X.dtype)
        self._train(X, self._targets(y), 1, incremental=True)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """``(n_samples,)`` for one target, ``(n_samples, n_outputs_)`` for several."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def _validate(self, X: ArrayLike, y: ArrayLike, continuing: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(
            self, X, y, reset=not continuing, dtype=self._input_dtype(continuing),
            multi_output=True, y_numeric=True,
        )
        return X, y.reshape(len(y), -1)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"NeuralNetRegressor: y has {y.shape[1]} targets per sample, but the network was"
                f" fitted with {self.n_outputs_}"
            )
        return y.astype(self._model_dtype(), copy=False)
