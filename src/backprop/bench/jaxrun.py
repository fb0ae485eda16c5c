"""JAX: W1 as a whole compiled epoch, W2 and W3 as a jitted step per batch, W4 a jitted forward.

Compile time is kept out of the timings and reported apart. jax is imported only inside
``jax_trial``: without it everything else works. (Not ``jax.py``: that would shadow jax.)
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .workloads import (
    CLASSES,
    CNN_CHANNELS,
    CNN_HIDDEN,
    IMAGE,
    MLP,
    SIGMOID_MLP,
    Data,
    Spec,
    Trial,
    timed,
    warm_spec,
)


def _jax_params(jax: Any, kind: str, seed: int = 0) -> list[tuple[Any, Any]]:
    """PyTorch's default initialisation, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; HWIO kernels."""
    if kind == "cnn":
        (c0, c1, c2), flat = CNN_CHANNELS, CNN_CHANNELS[2] * (IMAGE // 4) ** 2
        shapes = [
            ((3, 3, c0, c1), 9 * c0),
            ((3, 3, c1, c2), 9 * c1),
            ((flat, CNN_HIDDEN), flat),
            ((CNN_HIDDEN, CLASSES), CNN_HIDDEN),
        ]
    else:
        sizes = SIGMOID_MLP if kind == "sigmoid-mlp" else MLP
        shapes = [((a, b), a) for a, b in itertools.pairwise(sizes)]
    keys = jax.random.split(jax.random.PRNGKey(seed), 2 * len(shapes))
    params = []
    for i, (shape, fan_in) in enumerate(shapes):
        bound = 1.0 / math.sqrt(fan_in)
        w = jax.random.uniform(keys[2 * i], shape, minval=-bound, maxval=bound)
        b = jax.random.uniform(keys[2 * i + 1], shape[-1:], minval=-bound, maxval=bound)
        params.append((w, b))
    return params


def _jax_forward(jax: Any, kind: str, reshape_pool: bool = False) -> Callable[[Any, Any], Any]:
    lax, jnp = jax.lax, jax.numpy

    def mlp(params: Any, x: Any) -> Any:
        activation = jax.nn.sigmoid if kind == "sigmoid-mlp" else jax.nn.relu
        for w, b in params[:-1]:
            x = activation(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def cnn(params: Any, x: Any) -> Any:
        def conv(x: Any, w: Any, b: Any) -> Any:
            y = lax.conv_general_dilated(
                x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            return jax.nn.relu(y + b)

        def pool(x: Any) -> Any:
            # Max over non-overlapping 2x2 windows: lax.reduce_window (the peer issue 11 asks
            # for), or the same max as a reshape (``jax-reshape``): XLA:CPU runs the gradient of
            # reduce_window (select_and_scatter) 2 to 3 times slower, and the report should
            # also show the fastest plain JAX we know.
            if reshape_pool:
                n, h, w, c = x.shape
                return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
            return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
        x = pool(conv(pool(conv(x, w1, b1)), w2, b2))
        x = jax.nn.relu(x.reshape(len(x), -1) @ w3 + b3)
        return x @ w4 + b4

    return cnn if kind == "cnn" else mlp


def _jax_step(jax: Any, forward: Callable[[Any, Any], Any], lr: float) -> Callable[..., Any]:
    jnp = jax.numpy

    def loss(params: Any, x: Any, y: Any) -> Any:
        logits = forward(params, x)
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

    def step(params: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    return step


def jax_reshape_trial(spec: Spec, data: Data, threads: int) -> Trial:
    """JAX with W2's max-pool as a reshape and max instead of ``lax.reduce_window`` (W2 only)."""
    return jax_trial(spec, data, threads, reshape_pool=True)


def jax_trial(spec: Spec, data: Data, threads: int, reshape_pool: bool = False) -> Trial:
    """JAX: a whole epoch under ``lax.scan`` (W1), a jitted step per batch (W2, W3), a jitted forward (W4).

    XLA sizes its own CPU thread pool; ``threads`` is not applied (the report says so).
    """
    import jax

    jnp = jax.numpy
    x = data.x[: spec.samples]
    # NHWC for the CNN: with one channel that is only a reshape of NCHW.
    x = x.reshape(len(x), IMAGE, IMAGE, 1) if spec.model == "cnn" else x.reshape(len(x), -1)
    xj, yj = jax.device_put(x), jax.device_put(data.y[: spec.samples].astype(np.int32))
    n, b = spec.samples, spec.batch_size
    forward = _jax_forward(jax, spec.model, reshape_pool)
    step = _jax_step(jax, forward, spec.lr)
    key = jax.random.PRNGKey(0)

    def fresh() -> Any:
        return jax.block_until_ready(_jax_params(jax, spec.model))

    if not spec.train:

        def forward_at(params: Any, x_all: Any, start: Any) -> Any:
            return forward(params, jax.lax.dynamic_slice_in_dim(x_all, start, b))

        started = time.perf_counter()
        compiled = jax.jit(forward_at).lower(fresh(), xj, 0).compile()
        compile_seconds = time.perf_counter() - started
        if n % b:
            raise ValueError(f"jax_trial: inference samples {n} must be a multiple of the batch {b}")

        def infer(params: Any) -> None:
            jax.block_until_ready(jnp.concatenate([compiled(params, xj, s) for s in range(0, n, b)]))

        measure = lambda: timed(fresh, infer)  # noqa: E731
        return Trial(measure, measure, compile_seconds)

    if spec.model != "mlp":
        # One jitted step per batch, called from Python: the set-up for W3, and the
        # faster choice for W2 (XLA:CPU ran the convolutions about 20 times slower inside
        # lax.scan than as separate steps).
        def gathered(params: Any, x_all: Any, y_all: Any, index: Any) -> Any:
            return step(params, x_all[index], y_all[index])

        jitted = jax.jit(gathered)
        shapes = {b} | ({n % b} if n % b else set())
        started = time.perf_counter()
        compiled_steps = {
            size: jitted.lower(fresh(), xj, yj, np.zeros(size, np.int32)).compile() for size in shapes
        }
        compile_seconds = time.perf_counter() - started
        rng = np.random.default_rng(0)

        def train_steps(params: Any, samples: int = n) -> None:
            order = rng.permutation(n)[:samples].astype(np.int32)
            for start in range(0, samples, b):
                index = order[start : start + b]
                params = compiled_steps[len(index)](params, xj, yj, index)
            jax.block_until_ready(params)

        warm = warm_spec(spec).samples
        return Trial(
            lambda: timed(fresh, train_steps),
            lambda: timed(fresh, lambda p: train_steps(p, warm)),
            compile_seconds,
        )

    full = (n // b) * b

    def epoch(params: Any, x_all: Any, y_all: Any, key: Any) -> Any:
        order = jax.random.permutation(key, n)

        def body(params: Any, index: Any) -> tuple[Any, None]:
            return step(params, x_all[index], y_all[index]), None

        params, _ = jax.lax.scan(body, params, order[:full].reshape(-1, b))
        if full < n:  # the last, smaller batch, as the other frameworks take it
            params = step(params, x_all[order[full:]], y_all[order[full:]])
        return params

    started = time.perf_counter()
    compiled_epoch = jax.jit(epoch).lower(fresh(), xj, yj, key).compile()
    compile_seconds = time.perf_counter() - started
    measure = lambda: timed(fresh, lambda p: jax.block_until_ready(compiled_epoch(p, xj, yj, key)))  # noqa: E731
    # The whole epoch is one program, so its warm-up is one untimed epoch.
    return Trial(measure, measure, compile_seconds)
