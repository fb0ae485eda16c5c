"""What both estimators share: scikit-learn's MLP parameters and their checks, the network with
Glorot's start, the fitted attributes, and the ``fit``/``partial_fit`` they both run.

Differences from scikit-learn's ``MLPClassifier``/``MLPRegressor``, each deliberate:

- ``dtype`` (ours): None keeps float32 and float64 input as it is (as scikit-learn does),
  ``"float32"`` or ``"float64"`` fixes the network's dtype.
- Momentum follows ``bp.SGD``'s rule (``v = mu v + g``, ``w -= eta v``; Nesterov
  ``w -= eta (g + mu v)``) and Adam ``bp.Adam``'s (``eps`` added to ``sqrt(v_hat)``): with a
  constant learning rate the same steps as scikit-learn's up to rounding and ``eps``.
- Early stopping in a multi-class problem holds out a stratified validation part (scikit-learn
  stratifies only binary problems).
- ``lbfgs`` records ``loss_curve_`` (one value per iteration) too.
- For several regression targets ``loss_`` is the half squared error summed over the targets
  and averaged over the samples, the quantity whose gradient both libraries follow
  (scikit-learn divides its reported value, not its gradient, by the number of targets).
- ``loss="poisson"`` reports ``PoissonNLLLoss``, the negative log-likelihood without
  ``log y!``; scikit-learn's half deviance differs from it by a constant of ``y`` alone.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..dtypes import resolve_dtype
from ..layers.activations import ReLU, Sigmoid, Tanh
from ..layers.base import Layer
from ..layers.linear import Linear, is_sparse
from ..model import Sequential
from ..training import predict
from ..validation import is_integer, is_number
from .solvers import Solvers

#: The hidden layers' activation by scikit-learn's name; "identity" puts none between the
#: Linear layers, and "sigmoid" is the name these estimators used for "logistic" before.
HIDDEN_ACTIVATIONS: dict[str, type[Layer] | None] = {
    "identity": None,
    "logistic": Sigmoid,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
}
SOLVERS = ("lbfgs", "sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")
#: ``out_activation_`` -> the model's ``output_transform`` (what ``bp.predict`` applies).
OUTPUT_TRANSFORMS = {"softmax": "softmax", "logistic": "sigmoid", "exp": "exp", "identity": None}



def stochastic(estimator: NeuralNet) -> bool:
    """Whether the estimator's solver takes steps on batches, and so has ``partial_fit``."""
    return estimator.solver in ("sgd", "adam")


PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units of each hidden layer; ``()`` for none (a linear, logistic or softmax regression).
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        The hidden layers' activation; "sigmoid" is accepted for "logistic".
    solver : {"lbfgs", "sgd", "adam"}, default "adam"
        "lbfgs": SciPy's L-BFGS-B on the whole data set (small data); "sgd": ``bp.SGD``
        with ``momentum``; "adam": ``bp.Adam`` with ``beta_1``, ``beta_2``, ``epsilon``.
    alpha : float >= 0, default 1e-4
        L2 penalty ``(alpha / 2) sum ||W||^2 / n`` on the weights (not the biases), ``n`` the
        batch's samples (its weight total with ``sample_weight``).
    batch_size : int or "auto", default "auto"
        Samples per step for "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The step size's schedule for "sgd": constant; ``learning_rate_init / (t + 1)^power_t``
        after each epoch (``t`` samples seen); divided by 5 each time the loss (or validation
        score) stalls for ``n_iter_no_change`` epochs, stopping once under 1e-6. A number here
        is the step size, as in backprop 0.1 (deprecated: pass ``learning_rate_init``).
    learning_rate_init : float > 0, default 1e-3
        The step size ``eta`` of "sgd" and "adam".
    power_t : float >= 0, default 0.5
        The exponent of "invscaling".
    max_iter : int >= 1, default 200
        Epochs of "sgd"/"adam" per ``fit``; iterations of "lbfgs".
    shuffle : bool, default True
        Shuffle the samples before each epoch.
    random_state : int, numpy RandomState or None, default None
        Draws the initial weights, the early-stopping split and the shuffles, exactly as
        scikit-learn draws them.
    tol : float >= 0, default 1e-4
        Training stops (or, with "adaptive", the step shrinks) when the training loss has not
        fallen by ``tol`` (or, with early stopping, the validation score not risen by ``tol``)
        for ``n_iter_no_change`` epochs in a row; "lbfgs" stops when the largest gradient
        component is under ``tol``.
    verbose : bool or int, default False
        Print each iteration's loss (and validation score).
    warm_start : bool, default False
        ``fit`` continues from the fitted weights (with a new optimiser, as scikit-learn).
    momentum : float in [0, 1), default 0.9
        SGD's momentum.
    nesterovs_momentum : bool, default True
        Nesterov's momentum (when ``momentum > 0``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, score it after each epoch (accuracy or
        R^2), stop on ``tol``/``n_iter_no_change`` and keep the best-scoring weights.
    validation_fraction : float in (0, 1), default 0.1
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        Adam's decay rates of the first and second moments.
    epsilon : float > 0, default 1e-8
        Adam's ``eps``.
    n_iter_no_change : int >= 1 or numpy.inf, default 10
        Epochs without improvement by ``tol`` before stopping.
    max_fun : int >= 1, default 15000
        "lbfgs": at most this many loss evaluations.
    dtype : None, "float32" or "float64", default None
        The network's dtype; None follows the input (float32 stays float32, the rest becomes
        float64). Ours, not scikit-learn's.

    Fitted attributes: ``model_`` (the trained ``bp.Sequential``), ``coefs_`` and
    ``intercepts_`` (each Linear layer's weights ``(n_in, n_out)`` and biases, views of
    ``model_``'s), ``n_layers_``, ``n_outputs_``, ``out_activation_``, ``loss_``,
    ``best_loss_``, ``loss_curve_``, ``validation_scores_``, ``best_validation_score_``,
    ``t_`` (samples seen), ``n_iter_`` (epochs or iterations of the last call),
    ``n_features_in_``, ``feature_names_in_``, ``optimizer_`` (the ``bp.SGD`` or ``bp.Adam``).
"""


class NeuralNet(Solvers, BaseEstimator):
    """The base of ``NeuralNetClassifier`` and ``NeuralNetRegressor`` (``PARAMETERS``)."""

    def __init__(
        self,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    # -- what each estimator defines: _loss and _validation_score (declared in Solvers), and

    #: "softmax", "logistic", "identity" or "exp": set when the network is made.
    out_activation_: str

    # -- hyper-parameter checks (in fit, never in __init__ or set_params, as scikit-learn asks)

    def _fail(self, name: str, expected: str, value: object) -> ValueError:
        return ValueError(f"{type(self).__name__}: {name} must be {expected}, got {value!r}")

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes: object = self.hidden_layer_sizes  # as the user set it: checked here
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
        if (
            not isinstance(sizes, (Sequence, np.ndarray))
            or isinstance(sizes, str)
            or not all(is_integer(size) and size >= 1 for size in sizes)
        ):
            raise self._fail("hidden_layer_sizes", "a positive integer or a sequence of them", sizes)
        return tuple(int(size) for size in sizes)

    def _schedule(self) -> tuple[str, float]:
        """The learning-rate schedule and the initial step size, the deprecated spelling included."""
        if is_number(self.learning_rate):
            warnings.warn(
                f"{type(self).__name__}: learning_rate={self.learning_rate!r} as the step size is"
                " deprecated and will be refused from backprop 0.3; pass"
                f" learning_rate_init={self.learning_rate!r} (learning_rate is now scikit-learn's"
                " schedule: 'constant', 'invscaling' or 'adaptive')",
                FutureWarning,
                stacklevel=4,
            )
            return "constant", float(self.learning_rate)
        return str(self.learning_rate), float(self.learning_rate_init)

    def _check_own_params(self) -> None:
        """A subclass's checks of its own parameters (the regressor's ``loss``)."""

    def _check_params(self) -> None:
        self._check_own_params()
        self._hidden_sizes()
        choices = {"activation": HIDDEN_ACTIVATIONS, "solver": SOLVERS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise self._fail(name, f"one of {sorted(allowed)}", getattr(self, name))
        if not is_number(self.learning_rate) and self.learning_rate not in SCHEDULES:
            raise self._fail("learning_rate", f"one of {list(SCHEDULES)}", self.learning_rate)
        if is_number(self.learning_rate) and self.learning_rate <= 0:
            raise self._fail(
                "learning_rate", "a positive number (the deprecated step size)", self.learning_rate
            )
        for name in ("learning_rate_init", "epsilon"):
            if not is_number(getattr(self, name)) or getattr(self, name) <= 0:
                raise self._fail(name, "a positive number", getattr(self, name))
        for name in ("alpha", "power_t", "tol"):
            if not is_number(getattr(self, name)) or getattr(self, name) < 0:
                raise self._fail(name, "a non-negative number", getattr(self, name))
        if self.batch_size != "auto" and not (is_integer(self.batch_size) and self.batch_size >= 1):
            raise self._fail("batch_size", "a positive integer or 'auto'", self.batch_size)
        for name in ("max_iter", "max_fun"):
            if not is_integer(getattr(self, name)) or getattr(self, name) < 1:
                raise self._fail(name, "a positive integer", getattr(self, name))
        patience = self.n_iter_no_change
        if not (is_integer(patience) and patience >= 1) and patience != np.inf:
            raise self._fail("n_iter_no_change", "a positive integer or numpy.inf", patience)
        for name in ("momentum", "beta_1", "beta_2"):
            if not is_number(getattr(self, name)) or not 0 <= getattr(self, name) < 1:
                raise self._fail(name, "a number in [0, 1)", getattr(self, name))
        if not is_number(self.validation_fraction) or not 0 < self.validation_fraction < 1:
            raise self._fail("validation_fraction", "a number in (0, 1)", self.validation_fraction)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise self._fail(name, "True or False", getattr(self, name))
        verbose = self.verbose
        if not (isinstance(verbose, (bool, np.bool_)) or (is_integer(verbose) and verbose >= 0)):
            raise self._fail("verbose", "True, False or a non-negative integer", self.verbose)
        state = self.random_state
        if isinstance(state, (bool, np.bool_)) or not (
            state is None or is_integer(state) or isinstance(state, np.random.RandomState)
        ):
            raise self._fail("random_state", "None, an integer or a numpy RandomState", state)
        if self.dtype is not None:
            resolve_dtype(self.dtype, type(self).__name__)

    # -- data

    def _input_dtype(self, reset: bool) -> Any:
        """The dtype ``validate_data`` converts ``X`` to: the network's, the user's, or float64/32."""
        if not reset:
            return self._model_dtype()
        if self.dtype is not None:
            return resolve_dtype(self.dtype)
        # The first entry is what every other input (ints, bools, objects) becomes.
        return [np.float64, np.float32]

    def _check_data(self, X_in: ArrayLike, y_in: ArrayLike, reset: bool) -> tuple[Any, np.ndarray]:
        X, y = validate_data(
            self, X_in, y_in, reset=reset, dtype=self._input_dtype(reset), accept_sparse=["csr", "csc"],
            multi_output=True, y_numeric=not is_classifier(self),
        )
        # Batches are rows: CSR slices them without copying the whole matrix.
        return (X.tocsr() if is_sparse(X) else X), y

    def _sample_weight(self, sample_weight: ArrayLike | None, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim == 0:
            weights = np.full(n, float(weights))
        if weights.shape != (n,):
            raise ValueError(
                f"{type(self).__name__}: sample_weight must have one weight per sample, shape ({n},),"
                f" got {weights.shape}"
            )
        # written so that NaN (for which every comparison is False) is refused too
        bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
        if bad.size:
            raise ValueError(
                f"{type(self).__name__}: sample_weight must be finite and >= 0; sample {bad[0]} has"
                f" {weights[bad[0]]}"
            )
        if not weights.sum() > 0:
            raise ValueError(
                f"{type(self).__name__}: sample_weight is all zero; at least one weight must be positive"
            )
        return weights

    def _model_dtype(self) -> np.dtype:
        return next(iter(self.model_.params.values())).dtype

    # -- the network

    def _continues(self, incremental: bool) -> bool:
        """Whether this call goes on training the fitted network (``warm_start``, ``partial_fit``).

        Going on needs the network the hyper-parameters describe: a warm start after
        ``set_params`` changed its shape or activation would silently train the old one.
        """
        if not hasattr(self, "model_") or not (self.warm_start or incremental):
            return False
        fitted = tuple(layer.out_features for layer in self._linears()[:-1])
        activation = HIDDEN_ACTIVATIONS[self.activation]
        hidden = {type(layer) for layer in self.model_ if not isinstance(layer, Linear)}
        if fitted != self._hidden_sizes() or hidden != ({activation} if activation and fitted else set()):
            raise ValueError(
                f"{type(self).__name__}: warm_start=True continues the fitted network, hidden"
                f" sizes {fitted}, but hidden_layer_sizes={self.hidden_layer_sizes!r} and"
                f" activation={self.activation!r} now describe another; fit with warm_start=False"
            )
        return True

    def _initialize(
        self, n_features: int, n_outputs: int, dtype: np.dtype, random_state: np.random.RandomState
    ) -> None:
        """A new network with Glorot's start and fresh training attributes (scikit-learn's ``_initialize``).

        Each layer's weights and then its biases are drawn ``U(-r, r)``, ``r = sqrt(f / (fan_in +
        fan_out))`` with ``f = 2`` for the logistic activation and 6 otherwise, from
        ``random_state`` as scikit-learn draws them (its ``(fan_in, fan_out)`` matrix is our
        ``W^T``), so the same ``random_state`` gives scikit-learn's initial network.
        """
        sizes = [n_features, *self._hidden_sizes(), n_outputs]
        activation = HIDDEN_ACTIVATIONS[self.activation]
        factor = 2.0 if activation is Sigmoid else 6.0
        layers: list[Layer] = []
        for index, (fan_in, fan_out) in enumerate(pairwise(sizes)):
            bound = math.sqrt(factor / (fan_in + fan_out))
            coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = random_state.uniform(-bound, bound, fan_out)
            linear = Linear(fan_in, fan_out, dtype=dtype, rng=0)
            linear.load_state_dict({"weight": coef.T, "bias": intercept})
            layers.append(linear)
            if activation is not None and index < len(sizes) - 2:
                layers.append(activation())
        self.model_ = Sequential(*layers)
        self.model_.output_transform = OUTPUT_TRANSFORMS[self.out_activation_]
        self.n_layers_ = len(sizes)
        self.n_outputs_ = n_outputs
        self.n_iter_ = 0
        self.t_ = 0
        self.optimizer_: Any = None
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._best_params = [array.copy() for array in self.model_.params.values()]
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _linears(self) -> list[Linear]:
        return [layer for layer in self.model_ if isinstance(layer, Linear)]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Each Linear layer's weights as scikit-learn holds them, ``(n_in, n_out)``: views of
        ``model_``'s ``W^T``, so writing into them changes the network."""
        return [layer.weight.T for layer in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Each Linear layer's biases ``(n_out,)``, the network's own arrays."""
        return [layer.params["bias"] for layer in self._linears()]

    # -- training

    def _fit(
        self, X_in: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None, incremental: bool
    ) -> NeuralNet:
        """Check, make or keep the network, train it with the solver, refuse non-finite weights."""
        self._check_params()
        continuing = self._continues(incremental)
        X, Y, labels = self._validate_input(X_in, y, incremental, reset=not continuing)
        sample_weight = self._sample_weight(sample_weight, X.shape[0])
        random_state = check_random_state(self.random_state)
        if not continuing:
            outputs = Y.shape[1] if Y.ndim == 2 else len(self.classes_)  # class positions: one logit each
            self._initialize(X.shape[1], outputs, X.dtype, random_state)
        elif Y.ndim == 2 and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{type(self).__name__}: y has {Y.shape[1]} targets per sample, but the network was"
                f" fitted with {self.n_outputs_}"
            )
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, labels, sample_weight, random_state, incremental)
        if not all(np.isfinite(array).all() for array in self.model_.params.values()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large"
                " values and need to be preprocessed."
            )
        return self

    def _validate_input(
        self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool, reset: bool
    ) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """``X``, the targets as the loss takes them, and what to stratify an early-stopping split by."""
        raise NotImplementedError

    def _outputs(self, X: ArrayLike) -> np.ndarray:
        """The network's predictions for ``X``: probabilities, values or rates."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._model_dtype(), accept_sparse=["csr", "csc"])
        return self._forward(X)

    def _forward(self, X: Any) -> np.ndarray:
        """``bp.predict`` on checked input: the output transform of ``out_activation_`` applied."""
        return predict(self.model_, X.tocsr() if is_sparse(X) else X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
