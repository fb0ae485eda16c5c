"""One learner's lab: a Playground problem, a small network on it, trained a step at a time.

``LabSession(LabConfig(...))`` draws the problem (``datasets.playground``), splits it into
train and test points, turns each point into the chosen input features, and builds the network
from the library's own layers: Linear layers of the hidden widths with the chosen activation,
and the output the task calls for (one logit and the fused sigmoid binary cross-entropy for two
classes, K logits and the fused softmax cross-entropy for K, one linear output and squared error
for a regression surface). ``step(k)`` runs k mini-batch steps of the chosen optimiser, the
forward, backward and update being the library's; ``reset()`` starts again from the same seed,
so a run replays step for step. ``losses()``, ``boundary(grid)`` and ``neuron_grids(grid)``
are what the page draws: the network's output, and every hidden unit's activation, over the
plane.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets.playground import PLAYGROUND, REGRESSION, playground
from ..layers.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from ..layers.base import Layer
from ..layers.linear import Linear
from ..losses import Loss, MSELoss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from ..model import Sequential
from ..optim import SGD, Adam
from ..training import evaluate

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS: dict[str, type[Layer] | None] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leakyrelu": LeakyReLU,
    "linear": None,
}
OPTIMIZERS = ("sgd", "momentum", "adam")
EXTENT = 6.0  # the plane drawn: [-6, 6]^2, where every problem's points lie
MAX_POINTS = 2_000
MAX_LAYERS, MAX_UNITS = 6, 16
TUNABLE = ("lr", "l2", "batch_size")  # the settings ``tune`` changes without a new run
UPLOADED = "csv"  # the problem name of a learner's own points (LabSession's ``data``)
MAX_HISTORY = 2_000  # gradient-norm rows kept: the picture shows the recent past, memory stays bounded


@dataclass(frozen=True)
class LabConfig:
    """Everything that decides a lab run; each field checked, with the range it must lie in."""

    problem: str = "circle"
    n: int = 500
    noise: float = 0.0
    train_fraction: float = 0.5
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    l2: float = 0.0

    def __post_init__(self) -> None:
        _choice("problem", self.problem, (*PLAYGROUND, UPLOADED))
        _integer("n", self.n, 10, MAX_POINTS)
        _number("noise", self.noise, 0.0, 1.0)
        _number("train_fraction", self.train_fraction, 0.1, 0.9)
        _integer("seed", self.seed, 0, 2**31 - 1)
        if (
            not self.features
            or not all(isinstance(name, str) for name in self.features)
            or len(set(self.features)) != len(self.features)
        ):
            raise ValueError(
                f"lab: features must be distinct names from {', '.join(FEATURES)}, got {self.features}"
            )
        for feature in self.features:
            _choice("features", feature, FEATURES)
        if len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"lab: hidden has at most {MAX_LAYERS} layers, got {len(self.hidden)}")
        for units in self.hidden:
            _integer("hidden", units, 1, MAX_UNITS)
        _choice("activation", self.activation, tuple(ACTIVATIONS))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _number("lr", self.lr, 1e-6, 10.0)
        _integer("batch_size", self.batch_size, 1, MAX_POINTS)
        _number("l2", self.l2, 0.0, 1.0)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"lab: {name} must be one of {', '.join(allowed)}, got {value!r}")


def _integer(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"lab: {name} must be an integer from {low} to {high}, got {value!r}")


def _number(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"lab: {name} must be a number from {low:g} to {high:g}, got {value!r}")


def features_of(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The chosen input features of points ``(N, 2)``, as columns ``(N, len(names))``."""
    x1, x2 = points[:, 0], points[:, 1]
    columns = {
        "x1": x1,
        "x2": x2,
        "x1^2": x1 * x1,
        "x2^2": x2 * x2,
        "x1*x2": x1 * x2,
        "sin(x1)": np.sin(x1),
        "sin(x2)": np.sin(x2),
    }
    return np.stack([columns[name] for name in names], axis=1).astype(points.dtype)


@dataclass(frozen=True)
class LastStep:
    """The last training step, kept to explain it: its batch and the parameters around it.

    ``before`` and ``after`` map ``model.params``' names to copies taken just before and just
    after the optimiser's update; ``batch`` indexes the train points.
    """

    number: int
    batch: np.ndarray
    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    lr: float
    l2: float


class LabSession:
    """A problem, its split, a network and its optimiser; trained by ``step``, drawn by the rest.

    ``data`` is a learner's own problem, ``(points (N, 2), targets)`` with int labels ``(N,)``
    for classes or float targets ``(N, 1)`` for a regression, given with ``problem="csv"``.
    """

    def __init__(self, config: LabConfig, data: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        if (config.problem == UPLOADED) != (data is not None):
            raise ValueError(f"lab: problem {UPLOADED!r} comes with uploaded points, and only it does")
        if data is not None and len(data[0]) != config.n:
            raise ValueError(f"lab: n must be the number of uploaded points, {len(data[0])}, got {config.n}")
        self.config = config
        self.data = data
        self.reset()

    def reset(self) -> None:
        """The same start for the same config: data, split, weights and batch order from ``seed``."""
        c = self.config
        rng = np.random.default_rng(c.seed)
        if self.data is None:
            points, targets = playground(c.problem, c.n, c.noise, seed=rng)
        else:
            points, targets = self.data
        order = rng.permutation(c.n)
        cut = max(1, min(c.n - 1, round(c.train_fraction * c.n)))
        self.train_points, self.test_points = points[order[:cut]], points[order[cut:]]
        self.train_targets, self.test_targets = targets[order[:cut]], targets[order[cut:]]
        self.regression = c.problem in REGRESSION or targets.ndim == 2
        classes = 1 if self.regression else int(targets.max()) + 1
        outputs = 1 if classes <= 2 else classes
        self.outputs = outputs  # the network's output units
        self.loss: Loss = (
            MSELoss()
            if self.regression
            else (SigmoidBinaryCrossEntropy() if classes == 2 else SoftmaxCrossEntropy())
        )
        activation = ACTIVATIONS[c.activation]
        layers: list[Layer] = []
        width = len(c.features)
        for units in c.hidden:
            layers.append(Linear(width, units, rng=rng))
            if activation is not None:
                layers.append(activation())
            width = units
        layers.append(Linear(width, outputs, rng=rng))
        self.model = Sequential(*layers)
        self.optimizer: SGD | Adam = (
            Adam(self.model, c.lr, weight_decay=c.l2)
            if c.optimizer == "adam"
            else SGD(self.model, c.lr, momentum=0.9 if c.optimizer == "momentum" else 0.0, weight_decay=c.l2)
        )
        self._rng = rng
        self._order = rng.permutation(len(self.train_points))
        self._position = 0
        self.steps = 0
        self.epochs = 0
        self.gradient_norms: list[list[float]] = []  # per step, one norm per Linear layer's weight
        self.last_step: LastStep | None = None

    def loss_targets(self, targets: np.ndarray) -> np.ndarray:
        """Targets as the loss takes them: (N, 1) floats for one logit, labels for several."""
        if self.regression:
            return targets
        if isinstance(self.loss, SigmoidBinaryCrossEntropy):
            return targets.reshape(-1, 1).astype(np.float32)
        return targets

    def step(self, steps: int = 1) -> None:
        """``steps`` mini-batch steps: forward, loss, backward, the optimiser's update."""
        _integer("steps", steps, 1, 10_000)
        x = self.train_features()
        t = self.loss_targets(self.train_targets)
        for remaining in range(steps, 0, -1):
            batch = self._order[self._position : self._position + self.config.batch_size]
            self._position += len(batch)
            if remaining == 1:  # the step a click on a unit explains
                before = {name: array.copy() for name, array in self.model.params.items()}
            self.loss(self.model(x[batch]), t[batch])
            self.model.backward(self.loss.backward(), input_grad=False)
            weights = [g for name, g in self.model.grads.items() if name.endswith("weight") and g is not None]
            self.gradient_norms.append([float(np.linalg.norm(g)) for g in weights])
            self.optimizer.step()
            self.steps += 1
            if self._position >= len(self._order):  # a pass over the train points is done: count it
                self._order, self._position = self._rng.permutation(len(self._order)), 0
                self.epochs += 1
        after = {name: array.copy() for name, array in self.model.params.items()}
        self.last_step = LastStep(self.steps, batch.copy(), before, after, self.config.lr, self.config.l2)
        del self.gradient_norms[:-MAX_HISTORY]

    def tune(self, **settings: Any) -> None:
        """Change ``lr``, ``l2`` or ``batch_size`` between steps, keeping the run (the weights, the
        optimiser's state, the step count), as TensorFlow Playground does; anything else that
        decides a run needs a new session. Checked as ``LabConfig`` checks them."""
        unknown = sorted(set(settings) - set(TUNABLE))
        if unknown:
            raise ValueError(
                f"lab: {unknown[0]!r} cannot change during a run; {', '.join(TUNABLE)} can"
                " (the other settings start a new run)"
            )
        self.config = dataclasses.replace(self.config, **settings)
        self.optimizer.lr = self.config.lr  # the next step's eta; momentum and Adam keep their averages
        self.optimizer.weight_decay = self.config.l2

    def train_features(self) -> np.ndarray:
        """The train points' input features ``(N, len(features))``, as the network takes them."""
        return features_of(self.train_points, self.config.features)

    def losses(self) -> dict[str, float]:
        """The loss on the train points and on the test points, now."""
        scores = {}
        for split, points, targets in (
            ("train", self.train_points, self.train_targets),
            ("test", self.test_points, self.test_targets),
        ):
            features = features_of(points, self.config.features)
            scores[split] = evaluate(self.model, self.loss, features, self.loss_targets(targets))["loss"]
        return scores

    def _plane(self, grid: int) -> np.ndarray:
        _integer("grid", grid, 2, 256)
        axis = np.linspace(-EXTENT, EXTENT, grid, dtype=np.float32)
        x1, x2 = np.meshgrid(axis, axis[::-1])  # row 0 is the top of the picture: x2 = +6
        return np.stack([x1.ravel(), x2.ravel()], axis=1)

    def boundary(self, grid: int = 64) -> np.ndarray:
        """The output over the plane ``(grid, grid)``: P(class 1) for two classes, the most likely
        class for several, the predicted value for a regression."""
        was_training = self.model.training
        self.model.eval()
        try:
            outputs = self.model(features_of(self._plane(grid), self.config.features))
        finally:
            self.model.train(was_training)
        if self.regression:
            values = outputs[:, 0]
        elif outputs.shape[1] == 1:
            values = 1 / (1 + np.exp(-outputs[:, 0]))
        else:
            values = outputs.argmax(axis=1).astype(np.float32)
        return values.reshape(grid, grid)

    def neuron_grids(self, grid: int = 16) -> dict[str, np.ndarray]:
        """Every unit's picture over the plane, ``"LAYER:INDEX" -> (grid, grid)``: layer 0 the input
        features, the hidden layers their activations, the last layer the output's meaning (P(class 1)
        for two classes, each class's softmax probability for several, the value for a regression)."""
        a = features_of(self._plane(grid), self.config.features)
        grids = {f"0:{i}": a[:, i].reshape(grid, grid) for i in range(a.shape[1])}
        layer = 0
        for index, module in enumerate(self.model.layers[:-1]):
            a = module(a)
            following = self.model.layers[index + 1]
            if isinstance(following, Linear):  # a hidden layer's output, after its activation
                layer += 1
                grids.update({f"{layer}:{i}": a[:, i].reshape(grid, grid) for i in range(a.shape[1])})
        outputs = self.model.layers[-1](a).astype(np.float64)
        if isinstance(self.loss, SigmoidBinaryCrossEntropy):
            outputs = 1 / (1 + np.exp(-outputs))
        elif isinstance(self.loss, SoftmaxCrossEntropy):
            exponentials = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs = exponentials / exponentials.sum(axis=1, keepdims=True)
        grids.update({f"{layer + 1}:{i}": outputs[:, i].reshape(grid, grid) for i in range(outputs.shape[1])})
        return grids
