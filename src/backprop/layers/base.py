"""The contract every component keeps: forward keeps what backward needs, backward SETS.

A layer maps a batch ``x`` to ``y = layer(x)``. ``layer.backward(gy)`` receives
``gy = dL/dy`` (same shape as ``y``), writes ``dL/dparam`` into ``layer.grads[name]`` (it
overwrites, never accumulates, so there is nothing to zero between steps) and returns
``gx = dL/dx`` (same shape as ``x``). ``layer.params[name]`` are the arrays an optimiser
updates in place; ``layer.grads[name]`` has the same shape and dtype, and both dicts keep the
same array objects for the layer's whole life.

A layer owns those arrays: anything else that reaches them (``Sequential``'s flat dicts, an
optimiser's lists) holds references that are rebuilt from the layer when a copy is unpickled,
never pickled themselves. ``pickle`` and ``copy.deepcopy`` happen to keep two references to one
array as one, but joblib does not, and a copy whose optimiser updated arrays the layers no
longer read would train silently on nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .windows import empty_in_layout, memory_order

if TYPE_CHECKING:
    from ..optim import FusedSGDStep


class Layer:
    """Base class: ``params``/``grads`` dicts, ``train()``/``eval()``, input checks.

    ``output_transform`` tells ``predict`` how to turn a model's outputs into predictions:
    ``"softmax"`` for a classifier that outputs logits (``fit`` sets it when the loss is
    ``SoftmaxCrossEntropy``; ``save``/``load`` keep it), ``None`` to return them as they are.
    """

    output_transform: str | None = None
    #: True while what the layer holds was computed by Sequential's Conv2d-ReLU-MaxPool2d block
    #: (``layers/conv_relu_pool.py``), in the block's order; the block sets it after its
    #: forward, the layer's own forward clears it (see ``_check_grad``).
    ran_in_block: bool = False

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._scratch_buffers: dict[str, tuple[Any, np.ndarray]] = {}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def __getstate__(self) -> dict[str, Any]:
        """What pickle and ``copy`` keep: everything but the scratch buffers, which hold no state.

        A copy makes its own buffers on its first step, so it shares none with the original.
        """
        return {**self.__dict__, "_scratch_buffers": {}}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, gy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, gy: np.ndarray) -> None:
        """Set the parameter gradients only, for a layer whose input gradient nobody needs.

        The first layer of a model being trained is one: its ``dL/dx`` would be the gradient
        with respect to the data. Linear and Conv2d skip that product (for Conv2d, the whole
        col2im); other layers run their full backward.
        """
        self.backward(gy)

    def backward_update(
        self, gy: np.ndarray, step: FusedSGDStep, input_grad: bool = True
    ) -> np.ndarray | None:
        """``fit``'s backward, in which ``step`` (the optimiser's rule) may update the parameters.

        Returns ``dL/dx``, or None with ``input_grad=False`` (then only the parameter gradients
        are needed, as in ``backward_params``). A parameter the layer updates through ``step``
        is recorded there, and its gradient is not written; the optimiser's ``step(fused)``
        updates the rest. This default updates nothing: it is ``backward`` (or
        ``backward_params``). ``Linear`` fuses its weight's step into ``dL/dW``'s product.
        """
        if input_grad:
            return self.backward(gy)
        self.backward_params(gy)
        return None

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

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def _add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def _check_input(
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

    def _check_grad(
        self, gy: np.ndarray, expected_shape: tuple[int, ...] | None, in_block: bool = False
    ) -> np.ndarray:
        """Check that a backward may run now on ``gy``: after a forward, on the output's shape.

        ``Sequential`` runs a ``Conv2d, ReLU, MaxPool2d`` run as one block that pools before
        the bias and the ReLU, so after ``model(x)`` those layers hold the block's numbers (a
        pooled map in the ReLU, a bias-free map in the Conv2d) and their own backward would
        misread them: it is refused, naming ``model.backward``. ``in_block`` is True for the
        block's own calls, which need the converse: layers whose last forward was the block's.
        """
        if expected_shape is None:
            raise ValueError(f"{self}: backward called before forward")
        if self.ran_in_block != in_block:
            if in_block:
                raise ValueError(
                    f"{self}: Sequential's Conv2d-ReLU-MaxPool2d block expected its own forward"
                    " before its backward, got the layer's own forward; call model(x) again"
                    " before model.backward(gy)"
                )
            raise ValueError(
                f"{self}: backward expected the layer's own forward before it, got the forward of"
                " Sequential's Conv2d-ReLU-MaxPool2d block, which pools before the bias and the"
                " ReLU; call model.backward(gy) on the Sequential instead (or run the layers'"
                " forwards one by one first, as bp.explain does)"
            )
        if not isinstance(gy, np.ndarray) or gy.shape != expected_shape:
            got = gy.shape if isinstance(gy, np.ndarray) else type(gy).__name__
            raise ValueError(
                f"{self}: expected gradient of shape {expected_shape} (the output's), got {got}"
            )
        return gy

    def _scratch(
        self, name: str, shape: tuple[int, ...], dtype: np.dtype, like: np.ndarray | None = None
    ) -> np.ndarray:
        """A buffer this layer keeps and hands out again while shape, dtype and layout stay the same.

        Its memory layout is ``like``'s (C order without ``like``). For arrays the caller uses
        up before the layer's next call (inside a block that ``Sequential`` runs): reusing them
        spares the allocator fresh pages, which for a CNN's megabyte-sized feature maps means
        a page fault every 4 KiB on every step.
        """
        order = None if like is None else memory_order(like)
        key = (tuple(shape), np.dtype(dtype), order)
        cached = self._scratch_buffers.get(name)
        if cached is None or cached[0] != key:
            array = np.empty(shape, dtype) if like is None else empty_in_layout(shape, like, dtype)
            cached = self._scratch_buffers[name] = (key, array)
        return cached[1]

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype inputs must have: the parameters' dtype, or None for parameter-free layers."""
        for value in self.params.values():
            return value.dtype
        return None

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"
