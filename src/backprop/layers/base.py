"""The contract every component keeps: forward keeps what backward needs, backward SETS.

A layer maps a batch ``x`` to ``y = layer(x)``. ``layer.backward(gy, input_grad=True)``
receives ``gy = dL/dy`` (same shape as ``y``), sets ``layer.grads[name] = dL/dparam`` for every
parameter (it overwrites, never accumulates, so there is nothing to zero between steps) and
returns ``gx = dL/dx`` (same shape as ``x``), or None with ``input_grad=False``, when nobody
needs it (the first layer of a model in training: its ``dL/dx`` is the gradient with respect
to the data, and Linear and Conv2d then skip that product). That is the only backward.

``layer.params[name]`` are the arrays an optimiser updates in place, the same objects for the
layer's whole life. ``layer.grads[name]`` is the array the last backward wrote (same shape and
dtype; the layer reuses one buffer per parameter), or None where the gradient was never
formed: an optimiser may install a hook in ``layer.grad_hooks[name]`` (``SGD`` does, for the
large Linear weights, only while ``fit`` runs) that takes the factors of the gradient's product
``dL/dW = a^T b`` and applies its update from them in one GEMM. A gradient is therefore either
the last backward's or visibly absent, never stale.

A layer owns those arrays: anything else that reaches them (``Sequential``'s dicts, an
optimiser's lists) holds references that are rebuilt from the layer when a copy is unpickled,
never pickled themselves. ``pickle`` and ``copy.deepcopy`` happen to keep two references to one
array as one, but joblib does not, and a copy whose optimiser updated arrays the layers no
longer read would train silently on nothing.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: A gradient-product hook: ``hook(a, b)`` is called by a layer whose parameter's gradient is
#: ``a^T b``; it returns True when it applied the parameter's update from the product itself
#: (the gradient is then not formed), False to let the layer write the gradient as usual.
GradHook = Callable[[np.ndarray, np.ndarray], bool]
#: ``product(a, b, out)`` writes a gradient ``a^T b`` into ``out``.
ProductInto = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class Layer:
    """Base class: ``params``/``grads`` dicts, ``train()``/``eval()``, input checks.

    ``output_transform`` tells ``predict`` how to turn a model's outputs into predictions:
    ``"softmax"`` or ``"sigmoid"`` for a classifier that outputs logits (``fit`` sets it when
    the loss is ``SoftmaxCrossEntropy`` or ``SigmoidBinaryCrossEntropy``; ``save``/``load``
    keep it), ``None`` to return them as they are.
    """

    output_transform: str | None = None
    #: True while what the layer holds was computed by Sequential's Conv2d-ReLU-MaxPool2d block
    #: (``layers/conv_relu_pool.py``), which runs the three in another order: the block sets it
    #: after its forward, the layer's own forward clears it, and the layer's own backward
    #: refuses while it is set (``_check_grad``).
    ran_in_block: bool = False
    #: The parameters whose gradient is a product ``a^T b`` a ``GradHook`` may take over.
    hookable: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray | None] = {}
        #: Hooks an optimiser installs on parameters named in ``hookable`` (see ``GradHook``).
        self.grad_hooks: dict[str, GradHook] = {}
        self.training = True
        #: State arrays that are not parameters (BatchNorm's running statistics): saved in model
        #: files with the parameters, never touched by an optimiser.
        self.buffers: dict[str, np.ndarray] = {}
        self._grad_buffers: dict[str, np.ndarray] = {}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def __getstate__(self) -> dict[str, Any]:
        """What pickle and ``copy`` keep: everything but the hooks, which belong to a running ``fit``."""
        return {**self.__dict__, "grad_hooks": {}}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, gy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Set every ``grads[name] = dL/dparam`` from ``gy = dL/dy``; return ``dL/dx`` (None without
        ``input_grad``)."""
        raise NotImplementedError

    def backward_params(self, gy: np.ndarray) -> None:
        """Deprecated: ``backward(gy, input_grad=False)``."""
        warnings.warn(
            f"{type(self).__name__}.backward_params(gy) is deprecated; call backward(gy, input_grad=False)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.backward(gy, input_grad=False)

    def grad_slots(self) -> dict[str, tuple[dict[str, np.ndarray | None], str]]:
        """Where each parameter's gradient is: ``name -> (the dict that holds it, its key there)``.

        An optimiser reads a gradient through its slot at every step, so it sees what the last
        backward set there, None included (``Sequential`` gives its layers' slots).
        """
        return {name: (self.grads, name) for name in self.params}

    def train(self, mode: bool = True) -> Layer:
        """Training mode (the default): Dropout drops. Returns the layer itself."""
        for layer in self.modules():
            layer.training = mode
        return self

    def eval(self) -> Layer:
        """Evaluation mode: Dropout is the identity. Returns the layer itself."""
        return self.train(False)

    def modules(self) -> Iterator[Layer]:
        """This layer and every layer inside it, depth first."""
        yield self

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed as ``params``."""
        return {name: array.copy() for name, array in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters, checking every name and shape first.

        Values are converted to each parameter's dtype. Nothing is changed unless every key
        matches: a missing, extra or misshaped entry raises ValueError naming it.
        """
        params = self.params
        missing = sorted(set(params) - set(state))
        extra = sorted(set(state) - set(params))
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys {extra}"
            )
        for name, value in state.items():
            value = np.asarray(value)
            if value.shape != params[name].shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: {name} expected shape {params[name].shape},"
                    f" got {value.shape}"
                )
            if not np.issubdtype(value.dtype, np.number):
                raise TypeError(
                    f"{type(self).__name__}.load_state_dict: {name} expected numbers, got dtype {value.dtype}"
                )
        for name, value in state.items():
            np.copyto(params[name], value, casting="unsafe")

    def extra_state(self) -> dict[str, Any]:
        """What training changes in the layer besides its parameters, as JSON-ready values: none here.

        A checkpoint keeps it, so that a resumed run goes on exactly (Dropout's generator).
        """
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Take back what ``extra_state`` gave, checking it before anything changes."""
        if state:
            raise ValueError(f"{self}: expected no extra state, got {sorted(state)}")

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register ``value`` as the trainable parameter ``name`` and return it.

        Optimisers update ``params[name]`` in place, ``backward`` writes its gradient into
        ``grad_buffer(name)``, ``bp.gradcheck`` probes it, ``state_dict``/``bp.save`` keep it.
        """
        self.params[name] = value
        self._grad_buffers[name] = self.grads[name] = np.zeros_like(value)
        return value

    def grad_buffer(self, name: str) -> np.ndarray:
        """The array a backward writes ``dL/d(name)`` into (one per parameter, reused), made
        ``grads[name]`` again: a backward calls this for each gradient it writes."""
        buffer = self.grads[name] = self._grad_buffers[name]
        return buffer

    def _set_product_grad(self, name: str, a: np.ndarray, b: np.ndarray, product: ProductInto) -> None:
        """``grads[name] = a^T b`` through ``product(a, b, out)``, unless a hook applies the update from
        ``a`` and ``b`` itself: then ``grads[name]`` is None (the gradient was never formed)."""
        hook = self.grad_hooks.get(name)
        if hook is not None and hook(a, b):
            self.grads[name] = None
        else:
            product(a, b, self.grad_buffer(name))

    def check_input(
        self, x: np.ndarray, ndim: int, layout: str, trailing: tuple[int | None, ...] = ()
    ) -> np.ndarray:
        """Check rank, trailing sizes and dtype of ``x``; ``layout`` names the axes, e.g. "(N, 784)".

        Every forward starts here, so this is also where a layer's state becomes its own
        forward's again after a block ran it (``_check_grad``).
        """
        self.ran_in_block = False
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self}: expected a numpy.ndarray, got {type(x).__name__}")
        shape = x.shape
        if len(shape) != ndim or not all(
            want is None or got == want for want, got in zip(trailing, shape[ndim - len(trailing) :])
        ):
            raise ValueError(f"{self}: expected input of shape {layout}, got {shape}")
        if shape[0] == 0:
            raise ValueError(f"{self}: expected a batch of at least one sample, got {shape}")
        expected = self.dtype
        if expected is None:
            if x.dtype.kind != "f":
                raise TypeError(f"{self}: expected floating-point input, got {x.dtype}")
        elif x.dtype != expected:
            raise TypeError(
                f"{self}: expected input of dtype {expected} (the layer's dtype), got {x.dtype};"
                f" convert with x.astype(np.{expected})"
            )
        return x

    def _check_grad(self, gy: np.ndarray, expected_shape: tuple[int, ...] | None) -> np.ndarray:
        """Check that a backward may run now on ``gy``: after the layer's own forward, on its output's shape.

        ``Sequential`` runs a ``Conv2d, ReLU, MaxPool2d`` run as one block that pools before
        the bias and the ReLU (``ran_in_block``): after ``model(x)`` a layer's own backward
        would pair ``gy`` with what its own last forward kept, so it is refused, naming
        ``model.backward``.
        """
        if self.ran_in_block:
            raise ValueError(
                f"{self}: backward expected the layer's own forward before it, got the forward of"
                " Sequential's Conv2d-ReLU-MaxPool2d block, which pools before the bias and the"
                " ReLU; call model.backward(gy) on the Sequential instead (or run the layers'"
                " forwards one by one first, as bp.explain does)"
            )
        if expected_shape is None:
            raise ValueError(f"{self}: backward called before forward")
        if not isinstance(gy, np.ndarray) or gy.shape != expected_shape:
            got = gy.shape if isinstance(gy, np.ndarray) else type(gy).__name__
            raise ValueError(
                f"{self}: expected gradient of shape {expected_shape} (the output's), got {got}"
            )
        return gy

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype inputs must have: the parameters' dtype, or None for parameter-free layers."""
        for value in self.params.values():
            return value.dtype
        return None

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"


def backward_of(step: Any, gy: np.ndarray, input_grad: bool) -> np.ndarray | None:
    """``step.backward(gy, input_grad=...)``, for a layer written before ``input_grad`` too.

    A user's layer from before the one backward contract has ``backward(self, gy)``: it is
    called without the flag (its ``dL/dx`` computed and dropped) and warned about once.
    """
    if input_grad:
        return step.backward(gy)
    kind: type = type(step)  # not type[Any], which mypy wrongly finds unhashable for the cache
    if _takes_input_grad(kind):
        return step.backward(gy, input_grad=False)
    step.backward(gy)
    return None


@functools.cache
def _takes_input_grad(cls: type[Any]) -> bool:
    parameters = inspect.signature(cls.backward).parameters.values()
    takes = any(p.name == "input_grad" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    if not takes:
        warnings.warn(
            f"{cls.__name__}.backward(gy) takes no input_grad: write it as backward(self, gy,"
            " input_grad=True), returning None without input_grad (Layer's docstring); it is called"
            " without it",
            DeprecationWarning,
            stacklevel=3,
        )
    return takes
