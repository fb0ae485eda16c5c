"""Optimisers and schedules, checked against steps worked out by hand in the comments.

Most tests use ``Fake``, the optimiser contract alone (``params``/``grads`` dicts with the
same keys), with w = [1, 2], g = [0.5, -1] and lr = 0.1 unless a test says otherwise.
"""

from __future__ import annotations

import io
import math
import re
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from backprop.layers.linear import Linear
from backprop.optim import SGD, Adam, CosineLR, Optimizer, StepLR


class Fake:
    """Parameters given by keyword; gradients set in place, as a backward does."""

    def __init__(self, dtype: type = np.float64, **params: list[float]) -> None:
        self.params = {name: np.array(value, dtype) for name, value in params.items()}
        self.grads = {name: np.zeros_like(w) for name, w in self.params.items()}

    def set_grads(self, **grads: list[float]) -> None:
        for name, g in grads.items():
            self.grads[name][...] = g


class Rebuilt:
    """Like a Sequential: fresh dicts on every access, around the same arrays."""

    def __init__(self, inner: Fake) -> None:
        self.inner = inner

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"0.{name}": w for name, w in self.inner.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"0.{name}": g for name, g in self.inner.grads.items()}


def fake(**kwargs: object) -> Fake:
    model = Fake(w=[1.0, 2.0], **kwargs)
    model.set_grads(w=[0.5, -1.0])
    return model


def run(optimizer: Optimizer, model: Fake, steps: int) -> list[list[float]]:
    """Take ``steps`` steps with the model's current (fixed) gradients; w after each."""
    history = []
    for _ in range(steps):
        optimizer.step()
        history.append(model.params["w"].tolist())
    return history


# ---------------------------------------------------------------- SGD by hand


def test_sgd_without_momentum_is_w_minus_lr_g() -> None:
    model = fake()
    # w = [1, 2] - 0.1 [0.5, -1] = [0.95, 2.1], then [0.95, 2.1] - [0.05, -0.1] = [0.9, 2.2]
    np.testing.assert_allclose(run(SGD(model, lr=0.1), model, 2), [[0.95, 2.1], [0.9, 2.2]])


def test_sgd_momentum_by_hand() -> None:
    model = fake()
    # step 1: v = g = [0.5, -1]                          w = [1, 2] - 0.1 v = [0.95, 2.1]
    # step 2: v = 0.9 [0.5, -1] + g = [0.95, -1.9]       w = [0.855, 2.29]
    # step 3: v = 0.9 [0.95, -1.9] + g = [1.355, -2.71]  w = [0.7195, 2.561]
    history = run(SGD(model, lr=0.1, momentum=0.9), model, 3)
    np.testing.assert_allclose(history, [[0.95, 2.1], [0.855, 2.29], [0.7195, 2.561]])


def test_sgd_set_lr_keeps_or_rescales_the_velocity_by_hand() -> None:
    # step 1 at lr 0.1: v = g = [0.5, -1], w = [1, 2] - 0.1 v = [0.95, 2.1]; then lr 0.05.
    # kept (eta v unchanged): v = 2 [0.5, -1] = [1, -2]; step 2: v = 0.9 [1, -2] + g = [1.4, -2.8],
    #   w = [0.95, 2.1] - 0.05 v = [0.88, 2.24]: u = 0.9 u - eta g with u = -eta v
    # rescaled (PyTorch's rule): v = 0.9 [0.5, -1] + g = [0.95, -1.9], w = [0.9025, 2.195]
    for keep, expected in ((True, [0.88, 2.24]), (False, [0.9025, 2.195])):
        model = fake()
        optimizer = SGD(model, lr=0.1, momentum=0.9)
        run(optimizer, model, 1)
        optimizer.set_lr(0.05, keep_velocity=keep)
        assert optimizer.lr == 0.05
        np.testing.assert_allclose(run(optimizer, model, 1)[-1], expected)
    with pytest.raises(ValueError, match=r"^SGD: lr must be a positive number, got 0$"):
        optimizer.set_lr(0)


def test_sgd_nesterov_by_hand() -> None:
    model = fake()
    # step 1: v = g = [0.5, -1]                     d = g + 0.9 v = [0.95, -1.9]
    #         w = [1, 2] - 0.1 d = [0.905, 2.19]
    # step 2: v = 0.9 [0.5, -1] + g = [0.95, -1.9]  d = g + 0.9 v = [1.355, -2.71]
    #         w = [0.905, 2.19] - 0.1 d = [0.7695, 2.461]
    history = run(SGD(model, lr=0.1, momentum=0.9, nesterov=True), model, 2)
    np.testing.assert_allclose(history, [[0.905, 2.19], [0.7695, 2.461]])


def test_sgd_weight_decay_by_hand() -> None:
    model = fake()
    # step 1: g = [0.5, -1] + 0.1 [1, 2] = [0.6, -0.8]             w = [0.94, 2.08]
    # step 2: g = [0.5, -1] + 0.1 [0.94, 2.08] = [0.594, -0.792]   w = [0.8806, 2.1592]
    history = run(SGD(model, lr=0.1, weight_decay=0.1), model, 2)
    np.testing.assert_allclose(history, [[0.94, 2.08], [0.8806, 2.1592]])


def test_sgd_weight_decay_enters_the_momentum_buffer() -> None:
    model = fake()
    # step 1: g = [0.6, -0.8], v = g                          w = [0.94, 2.08]
    # step 2: g = [0.594, -0.792], v = 0.9 [0.6, -0.8] + g = [1.134, -1.512]
    #         w = [0.94, 2.08] - 0.1 v = [0.8266, 2.2312]
    history = run(SGD(model, lr=0.1, momentum=0.9, weight_decay=0.1), model, 2)
    np.testing.assert_allclose(history, [[0.94, 2.08], [0.8266, 2.2312]])


def test_sgd_leaves_the_gradients_as_backward_set_them() -> None:
    model = fake()
    run(SGD(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1), model, 2)
    np.testing.assert_array_equal(model.grads["w"], [0.5, -1.0])


# --------------------------------------------------------------- Adam by hand


def test_adam_two_steps_by_hand() -> None:
    model = fake()
    optimizer = Adam(model, lr=0.1)
    # step 1: m = 0.1 g = [0.05, -0.1]            m_hat = m / (1 - 0.9) = [0.5, -1]
    #         v = 0.001 g^2 = [0.00025, 0.001]    v_hat = v / (1 - 0.999) = [0.25, 1]
    #         w = [1, 2] - 0.1 [0.5 / 0.5, -1 / 1] = [0.9, 2.1]  (to within eps = 1e-8)
    optimizer.step()
    np.testing.assert_allclose(model.params["w"], [0.9, 2.1], rtol=0, atol=1e-8)
    # step 2 with g = [-0.5, 1]:
    #         m = 0.9 [0.05, -0.1] + 0.1 [-0.5, 1] = [-0.005, 0.01]
    #         m_hat = m / (1 - 0.81) = [-1/38, 1/19]
    #         v = 0.999 [0.00025, 0.001] + 0.001 [0.25, 1] = [0.00049975, 0.001999]
    #         v_hat = v / (1 - 0.998001) = [0.25, 1]
    #         w = [0.9, 2.1] - 0.1 [(-1/38) / 0.5, (1/19) / 1] = [0.9 + 1/190, 2.1 - 1/190]
    model.set_grads(w=[-0.5, 1.0])
    optimizer.step()
    np.testing.assert_allclose(
        model.params["w"], [0.9052631578947, 2.0947368421053], rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(optimizer.state_dict()["exp_avg.w"], [-0.005, 0.01])
    np.testing.assert_allclose(optimizer.state_dict()["exp_avg_sq.w"], [0.00049975, 0.001999])


def test_adam_bias_correction_makes_a_constant_gradient_move_lr_per_step() -> None:
    model = fake()
    optimizer = Adam(model, lr=0.1)
    # With g constant, m = (1 - 0.9^t) g and v = (1 - 0.999^t) g^2 exactly, so m_hat = g,
    # v_hat = g^2 and every step is 0.1 g / |g| = [0.1, -0.1]. Without the correction the
    # first step alone would be 0.1 * 0.05 / sqrt(0.00025) = 0.316 in the first coordinate.
    history = run(optimizer, model, 5)
    expected = [[1 - 0.1 * t, 2 + 0.1 * t] for t in range(1, 6)]
    np.testing.assert_allclose(history, expected, rtol=0, atol=1e-7)


def test_adam_weight_decay_by_hand() -> None:
    model = Fake(w=[1.0, 2.0])
    model.set_grads(w=[-0.05, 0.0])
    # g = [-0.05, 0] + 0.1 [1, 2] = [0.05, 0.2]: the decay flips the first sign and moves
    # the second coordinate though its loss gradient is 0; step 1 is 0.1 sign(g).
    Adam(model, lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(model.params["w"], [0.9, 1.9], rtol=0, atol=1e-7)
    # Without decay the first coordinate goes the other way and the second stays.
    model = Fake(w=[1.0, 2.0])
    model.set_grads(w=[-0.05, 0.0])
    Adam(model, lr=0.1).step()
    np.testing.assert_allclose(model.params["w"], [1.1, 2.0], rtol=0, atol=1e-7)


# ------------------------------------------------------ every optimiser alike

OPTIMISERS: dict[str, Callable[[object], Optimizer]] = {
    "sgd": lambda model: SGD(model, lr=0.1),
    "momentum": lambda model: SGD(model, lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda model: SGD(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda model: Adam(model, lr=0.01),
    "adam-decay": lambda model: Adam(model, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
}
each_optimiser = pytest.mark.parametrize("make", OPTIMISERS.values(), ids=OPTIMISERS.keys())


def linear_with_grads(dtype: type, seed: int = 0) -> Linear:
    layer = Linear(3, 2, dtype=dtype, rng=seed)
    x = np.random.default_rng(seed).standard_normal((4, 3)).astype(dtype)
    layer.backward(np.ones_like(layer(x)))
    return layer


def test_sgd_steps_a_real_linear_layer_with_each_new_backward() -> None:
    rng = np.random.default_rng(1)
    layer = Linear(3, 2, dtype=np.float64, rng=0)
    weight = layer.weight
    optimizer = SGD(layer, lr=0.1)
    for _ in range(2):
        layer(rng.standard_normal((4, 3)))
        layer.backward(rng.standard_normal((4, 2)))
        expected = layer.weight - 0.1 * layer.grads["weight"]
        expected_bias = layer.bias - 0.1 * layer.grads["bias"]
        optimizer.step()
        np.testing.assert_allclose(layer.weight, expected)
        np.testing.assert_allclose(layer.bias, expected_bias)
    assert layer.weight is weight


@each_optimiser
def test_updates_in_place(make: Callable[[object], Optimizer]) -> None:
    layer = linear_with_grads(np.float64)
    weight, bias = layer.params["weight"], layer.params["bias"]
    before = weight.copy()
    make(layer).step()
    assert layer.params["weight"] is weight and layer.params["bias"] is bias
    assert not np.array_equal(weight, before)


@each_optimiser
def test_float32_parameters_stay_float32(make: Callable[[object], Optimizer]) -> None:
    single, double = linear_with_grads(np.float32), linear_with_grads(np.float64)
    single_opt, double_opt = make(single), make(double)
    for _ in range(3):
        single_opt.step()
        double_opt.step()
    for name in ("weight", "bias"):
        assert single.params[name].dtype == np.float32
        np.testing.assert_allclose(single.params[name], double.params[name], rtol=1e-5, atol=1e-6)
    for key, value in single_opt.state_dict().items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key


@each_optimiser
def test_works_with_dicts_rebuilt_on_each_access(make: Callable[[object], Optimizer]) -> None:
    inner, reference = fake(), fake()
    optimizer, reference_opt = make(Rebuilt(inner)), make(reference)
    assert optimizer.names == ["0.w"]
    for _ in range(3):
        optimizer.step()
        reference_opt.step()
    np.testing.assert_array_equal(inner.params["w"], reference.params["w"])


@each_optimiser
def test_a_step_allocates_no_arrays(make: Callable[[object], Optimizer]) -> None:
    rng = np.random.default_rng(0)
    model = Fake(w=rng.standard_normal(100_000), b=rng.standard_normal(1000))
    model.set_grads(w=rng.standard_normal(100_000), b=rng.standard_normal(1000))
    optimizer = make(model)
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One temporary of w would be 800 kB; Python's own bookkeeping is a few kB.
    assert peak < 50_000


# ------------------------------------------------------------------ state_dict


@each_optimiser
def test_state_dict_round_trip_continues_identically(make: Callable[[object], Optimizer]) -> None:
    rng = np.random.default_rng(0)
    first = Fake(w=rng.standard_normal(5), b=rng.standard_normal(2))
    first_opt = make(first)
    gradients = [(rng.standard_normal(5), rng.standard_normal(2)) for _ in range(5)]
    for gw, gb in gradients[:2]:
        first.set_grads(w=gw, b=gb)
        first_opt.step()
    state = first_opt.state_dict()
    # Through an .npz file, as a checkpoint would go: scalars come back as 0-d arrays
    file = io.BytesIO()
    np.savez(file, **state)
    file.seek(0)
    with np.load(file) as loaded:
        restored = dict(loaded)
    second = Fake(w=first.params["w"], b=first.params["b"])
    second_opt = make(second)
    second_opt.load_state_dict(restored)
    assert second_opt.t == first_opt.t == 2
    for gw, gb in gradients[2:]:
        for model, optimizer in ((first, first_opt), (second, second_opt)):
            model.set_grads(w=gw, b=gb)
            optimizer.step()
    for name in ("w", "b"):
        np.testing.assert_array_equal(first.params[name], second.params[name])


def test_state_dict_is_a_copy_with_named_buffers() -> None:
    model = fake()
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"lr", "step", "momentum_buffer.w"}
    optimizer.step()
    np.testing.assert_array_equal(state["momentum_buffer.w"], [0.5, -1.0])
    assert state["step"] == 1 and state["lr"] == 0.1
    assert set(Adam(model).state_dict()) == {"lr", "step", "exp_avg.w", "exp_avg_sq.w"}
    assert set(SGD(model, lr=0.1).state_dict()) == {"lr", "step"}


def test_load_state_dict_rejects_a_mismatch_and_changes_nothing() -> None:
    model = fake()
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    optimizer.step()
    good = optimizer.state_dict()
    with pytest.raises(ValueError, match=re.escape("missing ['momentum_buffer.w']")):
        optimizer.load_state_dict({"lr": 0.5, "step": 7})
    with pytest.raises(ValueError, match=re.escape("unexpected ['exp_avg.w']")):
        optimizer.load_state_dict({**good, "exp_avg.w": np.zeros(2)})
    message = "SGD: state_dict['momentum_buffer.w'] must have shape (2,), got (3,)"
    with pytest.raises(ValueError, match=re.escape(message)):
        optimizer.load_state_dict({**good, "lr": 0.5, "momentum_buffer.w": np.zeros(3)})
    with pytest.raises(ValueError, match=re.escape("state_dict['step'] must be an integer >= 0")):
        optimizer.load_state_dict({**good, "step": 1.5})
    assert optimizer.lr == 0.1 and optimizer.t == 1
    np.testing.assert_array_equal(optimizer.state_dict()["momentum_buffer.w"], [0.5, -1.0])


# ------------------------------------------------------------------- schedules


def lrs(schedule: StepLR | CosineLR, epochs: int) -> list[float]:
    """The lr of epochs 0..epochs, checking that the optimiser was given each one."""
    values = [schedule.lr]
    for _ in range(epochs):
        values.append(schedule.step())
        assert schedule.optimizer.lr == schedule.lr == values[-1]
    return values


def test_step_lr_values() -> None:
    optimizer = SGD(fake(), lr=1.0)
    # lr_t = 1 * 0.1^floor(t / 2)
    values = lrs(StepLR(optimizer, step_size=2, gamma=0.1), 5)
    np.testing.assert_allclose(values, [1, 1, 0.1, 0.1, 0.01, 0.01])


def test_cosine_lr_values() -> None:
    # lr_t = (1 + cos(pi t / 4)) / 2: 1, (1 + 0.70711) / 2, 0.5, (1 - 0.70711) / 2, 0, then
    # it stays at eta_min = 0
    values = lrs(CosineLR(SGD(fake(), lr=1.0), t_max=4), 6)
    np.testing.assert_allclose(values, [1, 0.8535534, 0.5, 0.1464466, 0, 0, 0], atol=1e-7)
    # eta_min = 0.2: lr_t = 0.2 + 0.8 (1 + cos(pi t / 4)) / 2
    values = lrs(CosineLR(SGD(fake(), lr=1.0), t_max=4, eta_min=0.2), 5)
    np.testing.assert_allclose(values, [1, 0.8828427, 0.6, 0.3171573, 0.2, 0.2], atol=1e-7)


def test_the_scheduled_lr_drives_the_next_step() -> None:
    model = fake()
    optimizer = SGD(model, lr=1.0)
    StepLR(optimizer, step_size=1, gamma=0.1).step()
    optimizer.step()
    # w = [1, 2] - 0.1 [0.5, -1]
    np.testing.assert_allclose(model.params["w"], [0.95, 2.1])


def test_schedule_state_dict_resumes() -> None:
    first = CosineLR(SGD(fake(), lr=1.0), t_max=10)
    lrs(first, 3)
    second = CosineLR(SGD(fake(), lr=0.5), t_max=10)
    second.load_state_dict(first.state_dict())
    assert second.optimizer.lr == first.optimizer.lr
    assert lrs(second, 4) == lrs(first, 4)


# -------------------------------------------------------------- bad arguments

BAD_ARGUMENTS: list[tuple[Callable[[Fake], object], str]] = [
    (lambda m: SGD(m, lr=-0.1), "SGD: lr must be a positive number, got -0.1"),
    (lambda m: SGD(m, lr=0), "SGD: lr must be a positive number, got 0"),
    (lambda m: SGD(m, lr="0.1"), "SGD: lr must be a positive number, got '0.1'"),
    (lambda m: SGD(m, lr=math.inf), "SGD: lr must be a positive number, got inf"),
    (lambda m: SGD(m, lr=True), "SGD: lr must be a positive number, got True"),
    (lambda m: SGD(m, 0.1, momentum=-0.5), "SGD: momentum must be a number in [0, 1), got -0.5"),
    (lambda m: SGD(m, 0.1, momentum=1.0), "SGD: momentum must be a number in [0, 1), got 1.0"),
    (
        lambda m: SGD(m, 0.1, nesterov=True),
        "SGD: nesterov=True needs momentum > 0, got momentum=0.0",
    ),
    (
        lambda m: SGD(m, 0.1, momentum=0.9, nesterov="yes"),
        "SGD: nesterov must be True or False, got 'yes'",
    ),
    (
        lambda m: SGD(m, 0.1, weight_decay=-1e-4),
        "SGD: weight_decay must be a non-negative number, got -0.0001",
    ),
    (lambda m: Adam(m, lr=0), "Adam: lr must be a positive number, got 0"),
    (lambda m: Adam(m, betas=(0.9,)), "Adam: betas must be a pair (beta1, beta2), got (0.9,)"),
    (
        lambda m: Adam(m, betas=(1.0, 0.999)),
        "Adam: betas[0] must be a number in [0, 1), got 1.0",
    ),
    (
        lambda m: Adam(m, betas=(0.9, -0.1)),
        "Adam: betas[1] must be a number in [0, 1), got -0.1",
    ),
    (lambda m: Adam(m, eps=0.0), "Adam: eps must be a positive number, got 0.0"),
    (
        lambda m: Adam(m, weight_decay=-1),
        "Adam: weight_decay must be a non-negative number, got -1",
    ),
    (
        lambda m: StepLR(SGD(m, 0.1), step_size=0),
        "StepLR: step_size must be a positive integer, got 0",
    ),
    (
        lambda m: StepLR(SGD(m, 0.1), step_size=2.5),
        "StepLR: step_size must be a positive integer, got 2.5",
    ),
    (
        lambda m: StepLR(SGD(m, 0.1), step_size=1, gamma=0),
        "StepLR: gamma must be a positive number, got 0",
    ),
    (
        lambda m: CosineLR(SGD(m, 0.1), t_max=0),
        "CosineLR: t_max must be a positive integer, got 0",
    ),
    (
        lambda m: CosineLR(SGD(m, 0.1), t_max=5, eta_min=-0.1),
        "CosineLR: eta_min must be a non-negative number, got -0.1",
    ),
    (
        lambda m: CosineLR(SGD(m, 0.1), t_max=5, eta_min=0.5),
        "CosineLR: eta_min must not exceed the optimiser's lr (0.1), got 0.5",
    ),
]


@pytest.mark.parametrize(("make", "message"), BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
def test_bad_argument_message(make: Callable[[Fake], object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make(fake())


def test_bad_models() -> None:
    with pytest.raises(TypeError, match=r"^SGD: expected a model with \.params and \.grads"):
        SGD(object(), lr=0.1)
    with pytest.raises(ValueError, match=r"^Adam: the model has no parameters to optimise$"):
        Adam(Fake())
    model = fake()
    model.grads = {"v": np.zeros(2)}
    with pytest.raises(ValueError, match="must have the same keys"):
        SGD(model, lr=0.1)
    model.grads = {"w": np.zeros(3)}
    with pytest.raises(ValueError, match=r"gradient 'w' must be an ndarray of shape \(2,\)"):
        SGD(model, lr=0.1)
    with pytest.raises(TypeError, match=r"^StepLR: expected an Optimizer, got Fake$"):
        StepLR(fake(), step_size=1)


# ------------------------------------------------------ against PyTorch, if any

TORCH_CASES = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
    "SGD-nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "Adam": {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
}


@pytest.mark.parametrize("case", TORCH_CASES)
def test_matches_torch_optim(case: str) -> None:
    torch = pytest.importorskip("torch")
    name, kwargs = case.split("-")[0], TORCH_CASES[case]
    rng = np.random.default_rng(0)
    model = Fake(w=rng.standard_normal((3, 4)), b=rng.standard_normal(4))
    ours = {"SGD": SGD, "Adam": Adam}[name](model, **kwargs)
    tensors = {n: torch.tensor(w.copy(), requires_grad=True) for n, w in model.params.items()}
    theirs = getattr(torch.optim, name)(list(tensors.values()), **kwargs)
    for _ in range(5):
        for n, tensor in tensors.items():
            g = rng.standard_normal(tensor.shape)
            model.grads[n][...] = g
            tensor.grad = torch.from_numpy(g)
        ours.step()
        theirs.step()
    for n, tensor in tensors.items():
        np.testing.assert_allclose(model.params[n], tensor.detach().numpy(), rtol=1e-10, atol=1e-12)
