"""Where a training step's time goes: the gather, each layer's forward and backward, the loss, the update.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/step_pieces.py mlp [--steps 200]

Runs ``steps`` steps of a benchmark workload exactly as ``bp.fit``'s ``train_step`` does
them (SGD's update fused into the large Linear weights' backward through the hooks
``SGD.fused_updates`` installs; ``--unfused`` for ``SGD(fused=False)``), layer by layer,
pinned to one core with one BLAS thread, and times every piece with ``perf_counter``. Prints
milliseconds per step for each piece and their sum; the sum is a little above a step inside
``fit`` (the timer calls cost too).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np
from threadpoolctl import threadpool_limits

import backprop as bp
from backprop import bench
from backprop.bench.ours import our_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=("mlp", "cnn", "sigmoid-mlp"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--unfused", action="store_true", help="SGD(fused=False): the update as its own pass")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threadpool_limits(1, user_api="blas")
    spec = bench.spec_of(args.workload, bench.FULL)
    data = bench.make_data(spec.batch_size * (args.steps + 1))
    x = data.x if spec.model == "cnn" else data.x.reshape(len(data.x), -1)
    model, loss = our_model(spec.model), bp.SoftmaxCrossEntropy()
    optimizer = bp.SGD(model, spec.lr, fused=not args.unfused)
    order = np.random.default_rng(0).permutation(len(x))
    seconds: dict[str, float] = defaultdict(float)
    b, layers = spec.batch_size, list(model.steps)
    first = next(i for i, layer in enumerate(layers) if layer.params)
    clock = time.perf_counter()
    counting = False  # the first step allocates NumPy's caches: left out

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        if counting:
            seconds[name] += now - clock
        clock = now

    def run_step(step: int) -> None:
        nonlocal clock, counting
        counting = step > 0
        clock = time.perf_counter()
        index = order[step * b : (step + 1) * b]
        xb, yb = x[index], data.y[index]
        lap("gather the batch")
        h = xb
        for i, layer in enumerate(layers):
            h = layer(h)
            lap(f"forward  {i} {layer}")
        loss(h, yb)
        gy = loss.backward()
        lap("loss (value and gradient)")
        for i in range(len(layers) - 1, first, -1):
            gy = layers[i].backward(gy)
            lap(f"backward {i} {layers[i]}")
        layers[first].backward(gy, input_grad=False)
        lap(f"backward {first} {layers[first]} (parameters only)")
        optimizer.step()
        lap("SGD update (what the backward did not fuse)" if optimizer.fused else "SGD update")

    with optimizer.fused_updates():  # the hooks fit installs
        for step in range(args.steps + 1):
            run_step(step)
    total = sum(seconds.values())
    print(f"{args.workload}, batch {b}, {args.steps} steps, load {os.getloadavg()[0]:.1f}: "
          f"{1e3 * total / args.steps:.3f} ms per step")
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {1e3 * value / args.steps:8.3f} ms  {100 * value / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
