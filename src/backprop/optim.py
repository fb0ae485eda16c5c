"""Optimisers and learning-rate schedules: every update rule written out, applied in place.

An optimiser holds a model (anything with ``.params`` and ``.grads`` dicts with the same keys,
see ``layers/base.py``) and on ``step()`` updates every ``params[name]`` in place from
``grads[name]``, the gradient the latest backward *set*: nothing accumulates, so there is no
``zero_grad``. Updates run in the parameters' own dtype (float32 stays float32) through
buffers allocated once, at construction, so a step allocates no arrays.

Notation: ``w`` a parameter, ``g`` its gradient dL/dw, ``eta`` the learning rate (``lr``),
``t`` the number of steps taken, counting the current one (1 on the first step).

An optimiser owns its state buffers; the model owns the parameters and gradients. The lists
the step walks (and SGD's fused-step table, keyed by ``id(w)``) only point at those arrays, so
they are not pickled: unpickling builds them again from ``model.params``/``model.grads`` and
the state. A copy of ``(model, optimizer)`` made by pickle, joblib, cloudpickle or
``copy.deepcopy`` then updates the copied model, exactly as the original updates its own.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from . import validation
from .blas import axpby, axpy, gemm
from .layers.base import GradHook


def sgd_update(
    w: np.ndarray,
    g: np.ndarray,
    v: np.ndarray | None,
    buf: np.ndarray,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> None:
    """One SGD step on ``w`` in place (the rule is in ``SGD``'s docstring).

    ``v`` is the momentum buffer (None without momentum); ``buf`` is scratch space of ``w``'s
    shape and dtype. ``g`` is left untouched.
    """
    if weight_decay:
        np.multiply(w, weight_decay, out=buf)
        buf += g
        g = buf
    if momentum:
        assert v is not None  # the momentum buffer comes with the momentum
        if not axpby(1.0, g, momentum, v):  # v = mu v + g, one pass where BLAS has axpby
            v *= momentum
            v += g
        if nesterov:
            # w -= eta (g + mu v) as two scaled subtractions, so that no temporary is needed
            _descend(w, g, buf, lr)
            lr *= momentum
        g = v
    _descend(w, g, buf, lr)


def _descend(w: np.ndarray, d: np.ndarray, buf: np.ndarray, lr: float) -> None:
    """``w <- w - eta d`` in place: one BLAS pass where NumPy's own OpenBLAS has it (blas.py)."""
    if not axpy(-lr, d, w):
        np.multiply(d, lr, out=buf)
        w -= buf


def adam_update(
    w: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    buf: np.ndarray,
    gbuf: np.ndarray | None,
    t: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    """One Adam step on ``w`` in place at step ``t`` >= 1 (the rule is in ``Adam``'s docstring).

    ``m``, ``v`` are the moment buffers; ``buf`` is scratch space of ``w``'s shape and dtype,
    and so is ``gbuf``, needed only with weight decay to hold ``g + lambda w``.

    Range, in the parameters' dtype (``tests/test_numerics_tails.py`` checks it): the update
    ``eta m_hat / (sqrt(v_hat) + eps)`` is exact to a few ulp for ``|g|`` from 1e-30 to 1e18 in
    float32 and from 1e-300 to 1e150 in float64. ``(1 - beta2) g^2`` is computed as
    ``(sqrt(1 - beta2) g)^2``, never forming ``g^2``, which would overflow from ``|g| = 1.8e19``
    in float32 (1.3e154 in float64); so ``v`` overflows only when ``(1 - beta2) g^2`` itself
    does: with ``beta2 = 0.999`` from ``|g| = 5.8e20`` in float32 (4.2e155 in float64), as in
    PyTorch, whose ``addcmul`` computes ``((1 - beta2) g) g``. Beyond that ``v`` is inf and that
    element's update is 0, then and at every later step (``v`` stays inf), in PyTorch too: the
    limit of keeping ``v`` in the parameters' dtype. A ``(1 - beta2) g^2`` below the smallest
    normal number loses digits, which matters only if ``eps`` is as small as ``|g|``: with
    the default ``eps = 1e-8`` the update there is ``eta g / eps``, whatever ``v`` holds.
    """
    if weight_decay:
        np.multiply(w, weight_decay, out=gbuf)
        gbuf += g
        g = gbuf
    # m = beta1 m + (1 - beta1) g: one pass where BLAS has axpby, three NumPy passes otherwise
    if not axpby(1.0 - beta1, g, beta1, m):
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=buf)
        m += buf
    np.multiply(g, math.sqrt(1.0 - beta2), out=buf)
    np.multiply(buf, buf, out=buf)  # (1 - beta2) g^2 without forming g^2, which overflows first
    if not axpby(1.0, buf, beta2, v):
        v *= beta2
        v += buf
    correction1, correction2 = _bias_corrections(t, beta1, beta2)
    # With r = sqrt(1 - b2^t): eta m_hat / (sqrt(v_hat) + eps) = (eta r / (1 - b1^t)) m / (sqrt(v) + eps r),
    # so the corrected m and v are never stored and the scalars fold into one axpy: four passes
    root = math.sqrt(correction2)
    np.sqrt(v, out=buf)
    buf += eps * root
    np.divide(m, buf, out=buf)
    _descend(w, buf, buf, lr * root / correction1)


@functools.lru_cache(maxsize=8)
def _bias_corrections(t: int, beta1: float, beta2: float) -> tuple[float, float]:
    """Adam's ``1 - beta1^t`` and ``1 - beta2^t``, once per step for every parameter.

    Computed as ``-expm1(t ln b)``: the subtraction 1 - b2**t cancels while b2^t is near 1, to a
    relative error eps / (1 - b2^t) (1e-13 at t = 2 in float64; PyTorch's too).
    """
    first, second = (-math.expm1(t * math.log1p(b - 1.0)) if b else 1.0 for b in (beta1, beta2))
    return first, second


#: What every optimiser's step reads besides its state (see ``Optimizer._bound``).
_BOUND = ("_params", "_grad_slots", "_scratch")


class Optimizer:
    """Base class: the model's parameter and gradient arrays, ``lr``, the step count ``t``.

    Subclasses implement ``_update`` and keep their per-parameter state in buffers made by
    ``_buffers(kind)``; ``state_dict()`` names them ``"<kind>.<parameter name>"``. What the
    step reads besides (references to the model's arrays, to the state's lists, scratch
    space) is built by ``_bind_model`` and ``_bind_state`` and named in ``_bound``, which
    pickling leaves out. Public as ``bp.Optimizer``: the type of ``fit``'s ``optimizer``.
    """

    #: Attributes ``_bind_model``/``_bind_state`` build: references and scratch, never pickled.
    _bound: tuple[str, ...] = _BOUND

    def __init__(self, model: Any, lr: float) -> None:
        owner = type(self).__name__
        params = getattr(model, "params", None)
        grads = getattr(model, "grads", None)
        if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
            raise TypeError(
                f"{owner}: expected a model with .params and .grads dicts,"
                f" got {type(model).__name__}"
            )
        if not params:
            raise ValueError(f"{owner}: the model has no parameters to optimise")
        if set(params) != set(grads):
            raise ValueError(
                f"{owner}: the model's params and grads must have the same keys,"
                f" got {sorted(params)} and {sorted(grads)}"
            )
        for name, w in params.items():
            g = grads[name]
            if not isinstance(w, np.ndarray) or not np.issubdtype(w.dtype, np.floating):
                raise TypeError(f"{owner}: parameter {name!r} must be a floating-point ndarray")
            # None: a gradient an optimiser's hook consumed in the last backward (Layer's docstring)
            if g is not None and (not isinstance(g, np.ndarray) or g.shape != w.shape):
                raise ValueError(
                    f"{owner}: gradient {name!r} must be an ndarray of shape {w.shape}"
                )
        self.model = model
        self.lr = validation.positive(owner, "lr", lr)
        self.t = 0
        # Parallel lists in one fixed order, zipped with the state buffers at every step.
        self.names = list(params)
        self._state: dict[str, list[np.ndarray]] = {}
        self._bind_model()

    def _bind_model(self) -> None:
        """The model's parameters in ``names`` order, where their gradients are (``Layer.grad_slots``:
        read at every step, so a gradient a hook consumed, None, is seen), and scratch buffers."""
        params, grads = getattr(self.model, "params", None), getattr(self.model, "grads", None)
        if params is None or grads is None:
            raise TypeError(
                f"{type(self).__name__}: expected its model unpickled before it, got a"
                f" {type(self.model).__name__} without params: the model refers back to the"
                " optimiser (a cycle pickle cannot order); keep the optimiser off the model"
            )
        grad_slots = getattr(self.model, "grad_slots", None)
        slots = grad_slots() if callable(grad_slots) else {name: (grads, name) for name in params}
        self._params = [params[name] for name in self.names]
        self._grad_slots = [slots[name] for name in self.names]
        self._scratch = [np.empty_like(w) for w in self._params]

    def _bind_state(self) -> None:
        """A subclass's references into ``_state`` (made at the end of its ``__init__``)."""

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the ``_bound`` attributes, which unpickling builds again."""
        return {key: value for key, value in self.__dict__.items() if key not in self._bound}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: point at the (unpickled) model's arrays and at the state's buffers.

        The model comes back first, whole: pickle finishes an object that this one refers to
        before this one's state is set, unless that object refers back to this one.
        """
        self.__dict__.update(state)
        self._bind_model()
        self._bind_state()

    def _buffers(self, kind: str) -> list[np.ndarray]:
        """Zero buffers, one per parameter, saved by ``state_dict`` under ``kind``."""
        buffers = [np.zeros_like(w) for w in self._params]
        self._state[kind] = buffers
        return buffers

    def step(self) -> None:
        """Update every parameter in place from the gradients of the latest backward.

        A parameter whose gradient is None is left alone: a hook of this optimiser applied its
        step inside the backward (``fused_updates``), or no backward has formed one.
        """
        self.t += 1
        self._update(float(self.lr))

    @contextlib.contextmanager
    def fused_updates(self) -> Iterator[None]:
        """A with-block in which backwards may apply this optimiser's step themselves (``fit`` runs
        its steps in one). The base class has no fused rule: nothing changes."""
        yield

    def _update(self, lr: float) -> None:
        raise NotImplementedError

    def _state_keys(self) -> list[str]:
        return ["lr", "step"] + [f"{kind}.{name}" for kind in self._state for name in self.names]

    def state_dict(self) -> dict[str, float | int | np.ndarray]:
        """``lr``, ``step`` (``t``) and a copy of every buffer, keyed ``"<kind>.<name>"``."""
        state: dict[str, float | int | np.ndarray] = {"lr": float(self.lr), "step": self.t}
        for kind, buffers in self._state.items():
            for name, buffer in zip(self.names, buffers, strict=True):
                state[f"{kind}.{name}"] = buffer.copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned, copying into the existing buffers.

        Everything is checked before anything changes, so a bad checkpoint leaves the
        optimiser as it was. Scalars may come back as 0-d arrays (as from ``np.load``).
        """
        owner = type(self).__name__
        expected = self._state_keys()
        missing = [key for key in expected if key not in state]
        unexpected = [key for key in state if key not in expected]
        if missing or unexpected:
            raise ValueError(
                f"{owner}: state_dict does not match this optimiser:"
                f" missing {missing}, unexpected {unexpected}"
            )
        lr = validation.non_negative(owner, "state_dict['lr']", float(state["lr"]))
        t = state["step"]
        if np.ndim(t) != 0 or int(t) != t or t < 0:
            raise ValueError(f"{owner}: state_dict['step'] must be an integer >= 0, got {t!r}")
        for kind, buffers in self._state.items():
            for name, buffer in zip(self.names, buffers, strict=True):
                key = f"{kind}.{name}"
                shape = np.shape(state[key])
                if shape != buffer.shape:
                    raise ValueError(
                        f"{owner}: state_dict[{key!r}] must have shape {buffer.shape}, got {shape}"
                    )
        self.lr = lr
        self.t = int(t)
        for kind, buffers in self._state.items():
            for name, buffer in zip(self.names, buffers, strict=True):
                np.copyto(buffer, state[f"{kind}.{name}"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay.

    PyTorch's ``torch.optim.SGD`` without dampening; with ``mu`` the momentum and
    ``lambda`` the weight decay, each step does::

        g = dL/dw + lambda w
        v = mu v + g                 (v starts at 0: v = g on the first step, as PyTorch)
        d = g + mu v   if nesterov, else   d = v
        w = w - eta d

    With ``momentum=0`` that is the seeds' ``w = w - eta dL/dw`` (plus decay, if any).
    ``nesterov=True`` needs ``momentum > 0``.

    **Inside ``fit`` the step is fused** into the weight-gradient product where it can be
    (``fused=True``, no weight decay, no Nesterov, NumPy's own OpenBLAS present, and not
    data-parallel, whose gradients must exist to be all-reduced): for the length of ``fit``
    (``fused_updates``) SGD installs a hook (``Layer.grad_hooks``) on the weight of each
    ``Linear`` layer with at least ``FUSED_MIN_SIZE`` (16,384) weights, and that layer's backward
    hands the hook the factors of ``dL/dW = (dL/dy)^T x`` instead of forming it. One GEMM then
    applies ``W <- W - eta (dL/dy)^T x`` (with momentum ``v <- mu v + (dL/dy)^T x``, then
    ``W <- W - eta v``): no gradient is written and there is no update pass. The weights agree
    with the unfused step to rounding. Those weights' gradients are **None** after each of
    ``fit``'s steps (visibly absent: ``model.grads["0.weight"] is None`` in a callback), and
    ``step()`` leaves them alone; biases, smaller weights and every other parameter are set and
    updated as usual. Pass ``fused=False`` where something reads the weight gradients during
    training. Outside ``fit`` no hook is installed: a ``backward`` called by hand sets every
    gradient and ``step()`` updates every parameter.
    """

    _bound = (*_BOUND, "_velocity")

    def __init__(
        self,
        model: Any,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__(model, lr)
        self.momentum = validation.fraction("SGD", "momentum", momentum)
        nesterov = validation.flag("SGD", "nesterov", nesterov)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)
        self.weight_decay = validation.non_negative("SGD", "weight_decay", weight_decay)
        self.fused = validation.flag("SGD", "fused", fused)
        if self.momentum:
            self._buffers("momentum_buffer")
        self._bind_state()

    def _bind_state(self) -> None:
        self._velocity: Sequence[np.ndarray | None] = self._state.get(
            "momentum_buffer", [None] * len(self.names)
        )

    def set_lr(self, lr: float, keep_velocity: bool = False) -> None:
        """Change the step size ``eta``; with ``keep_velocity`` the momentum keeps the steps it holds.

        The buffer ``v`` is in gradient units, so the next step moves ``eta_new mu v``: a new
        ``eta`` rescales the whole history (PyTorch's rule, and this class's without the flag).
        ``keep_velocity=True`` multiplies ``v`` by ``eta_old / eta_new`` first, so ``eta v``, the
        velocity in parameter units, is unchanged: Sutskever et al.'s ``u = mu u - eta g``, the
        rule scikit-learn's SGD follows when its schedules change ``eta``.
        """
        lr = validation.positive("SGD", "lr", lr)
        if keep_velocity and self.momentum:
            for v in self._state["momentum_buffer"]:  # _velocity, without its None
                v *= v.dtype.type(self.lr / lr)
        self.lr = lr

    @contextlib.contextmanager
    def fused_updates(self) -> Iterator[None]:
        """Install the hooks that apply this step inside the weight-gradient products, for the block.

        Only where the rule needs no ``g`` of its own (no weight decay, no Nesterov) and on
        weights of at least ``FUSED_MIN_SIZE`` elements; the rule depends on the arrays, never on
        a timing, so a seed takes the same path in every run. The hooks are removed at the end.
        """
        hooked: list[tuple[Any, str]] = []
        if self.fused and not self.weight_decay and not self.nesterov:
            position = {id(w): i for i, w in enumerate(self._params)}
            for layer in self.model.modules():
                for name in layer.hookable:
                    i = position.get(id(layer.params[name]))
                    if i is not None and self._params[i].size >= FUSED_MIN_SIZE:
                        layer.grad_hooks[name] = self._fused_step(i)
                        hooked.append((layer, name))
        try:
            yield
        finally:
            for layer, name in hooked:
                layer.grad_hooks.pop(name, None)

    def _fused_step(self, i: int) -> GradHook:
        """The hook of parameter ``i``: its step from the factors of its gradient ``a^T b``.

        Where a backward would form ``g = A^T B`` (Linear: ``dL/dW = (dL/dy)^T x``, ``A`` the
        output gradient ``(N, O)``, ``B`` the input ``(N, I)``), one GEMM applies the step::

            no momentum:   W <- W - eta A^T B          (GEMM, alpha = -eta, beta = 1, into W)
            momentum mu:   v <- mu v + A^T B           (GEMM, alpha = 1, beta = mu, into v)
                           W <- W - eta v              (axpy)

        It returns False, changing nothing, where BLAS's GEMM does not take the arrays
        (``blas.gemm``): the layer then writes the gradient and ``step()`` updates as usual.
        """
        w, v, buf = self._params[i], self._velocity[i], self._scratch[i]

        def apply(a: np.ndarray, b: np.ndarray) -> bool:
            lr = float(self.lr)
            if v is None:
                return gemm(-lr, a, b, 1.0, w, transpose_a=True)
            if not gemm(1.0, a, b, self.momentum, v, transpose_a=True):
                return False
            _descend(w, v, buf, lr)
            return True

        return apply

    def _update(self, lr: float) -> None:
        """The step of every parameter whose gradient the backward formed."""
        slots = zip(self._grad_slots, self._params, self._velocity, self._scratch, strict=True)
        for (owner, key), w, v, buf in slots:
            g = owner[key]
            if g is not None:
                sgd_update(w, g, v, buf, lr, self.momentum, self.nesterov, self.weight_decay)


# Smaller weights take the ordinary product and update: below this many elements the call's
# fixed cost is more than the update pass it saves (benchmarks/step_micro.py fused: 1,000
# weights 5.1 us ordinary against 8.4 fused, 16,384 weights 10.8 against 10.6, 78,400
# weights 35.1 against 27.6; docs/performance.md).
FUSED_MIN_SIZE = 16_384


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient, as ``torch.optim.Adam``.

    With ``beta1, beta2 = betas`` and ``lambda`` the weight decay, step ``t`` does::

        g     = dL/dw + lambda w
        m     = beta1 m + (1 - beta1) g         (mean of g; m starts at 0)
        v     = beta2 v + (1 - beta2) g^2       (uncentred variance of g; v starts at 0)
        m_hat = m / (1 - beta1^t)               (bias correction for starting at 0)
        v_hat = v / (1 - beta2^t)
        w     = w - eta m_hat / (sqrt(v_hat) + eps)

    The decay is L2 regularisation through the gradient, not AdamW's decoupled decay.
    """

    _bound = (*_BOUND, "_m", "_v", "_decayed")

    def __init__(
        self,
        model: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(model, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            validation.fraction("Adam", "betas[0]", betas[0]),
            validation.fraction("Adam", "betas[1]", betas[1]),
        )
        self.eps = validation.positive("Adam", "eps", eps)
        self.weight_decay = validation.non_negative("Adam", "weight_decay", weight_decay)
        self._buffers("exp_avg")
        self._buffers("exp_avg_sq")
        self._bind_state()

    def _bind_state(self) -> None:
        self._m = self._state["exp_avg"]
        self._v = self._state["exp_avg_sq"]
        # g + lambda w must outlive the scratch buffer's reuse, so it needs its own
        self._decayed = (
            [np.empty_like(w) for w in self._params]
            if self.weight_decay
            else [None] * len(self.names)
        )

    def _update(self, lr: float) -> None:
        beta1, beta2 = self.betas
        for (owner, key), w, m, v, buf, gbuf in zip(
            self._grad_slots, self._params, self._m, self._v, self._scratch, self._decayed, strict=True
        ):
            g = owner[key]
            if g is not None:
                adam_update(w, g, m, v, buf, gbuf, self.t, lr, beta1, beta2, self.eps, self.weight_decay)


class LRSchedule:
    """Base class: sets ``optimizer.lr`` to ``lr_at(epoch)``; call ``step()`` once per epoch.

    ``lr_0`` is the optimiser's ``lr`` when the schedule is made; epoch 0 uses it. Public as
    ``bp.LRSchedule``: the type of ``fit``'s ``schedule``; a subclass defines ``lr_at``.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The learning rate of the current epoch."""
        return self.lr_at(self.epoch)

    def step(self) -> float:
        """Move to the next epoch, set the optimiser's ``lr`` and return it."""
        self.epoch += 1
        self.optimizer.lr = self.lr
        return self.optimizer.lr

    def state_dict(self) -> dict[str, float | int]:
        """``epoch`` and ``base_lr``, enough to resume the schedule from a checkpoint."""
        return {"epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned and set the optimiser's ``lr`` to match."""
        self.epoch = int(state["epoch"])
        self.base_lr = float(state["base_lr"])
        self.optimizer.lr = self.lr


class StepLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr_t = lr_0 gamma^floor(t / step_size)`` at epoch ``t``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = validation.positive_integer("StepLR", "step_size", step_size)
        self.gamma = validation.positive("StepLR", "gamma", gamma)

    def lr_at(self, epoch: int) -> float:
        # Closed form rather than repeated multiplication, so no rounding drift builds up
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(LRSchedule):
    """Cosine annealing from ``lr_0`` down to ``eta_min`` over ``t_max`` epochs.

    ``lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / t_max)) / 2`` for ``t <= t_max``, and
    ``eta_min`` after (no warm restart).
    """

    def __init__(self, optimizer: Optimizer, t_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.t_max = validation.positive_integer("CosineLR", "t_max", t_max)
        self.eta_min = validation.non_negative("CosineLR", "eta_min", eta_min)
        if self.eta_min > self.base_lr:
            raise ValueError(
                f"CosineLR: eta_min must not exceed the optimiser's lr ({self.base_lr}),"
                f" got {eta_min!r}"
            )

    def lr_at(self, epoch: int) -> float:
        t = min(epoch, self.t_max)
        cosine = (1 + math.cos(math.pi * t / self.t_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
