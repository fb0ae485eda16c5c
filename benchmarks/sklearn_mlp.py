"""backprop's NeuralNetClassifier beside scikit-learn's MLPClassifier: accuracy and fit time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/sklearn_mlp.py \
        [--rounds 3] [--threads 1] [--mnist-dir ../shared/data/mnist] [--only digits|mnist] \
        [--defaults | --profile EPOCHS]

Both estimators get the same data (float32, standardised on the training part), hidden sizes,
solver, learning rate, batch size, L2 penalty and number of epochs, in one process. Every
epoch runs for both: MLPClassifier's stopping on a stalled training loss is switched off
(``tol=0``, ``n_iter_no_change`` above ``max_iter``), and ours never stops early without
``early_stopping``. Each round fits both with the same seed, alternating which goes first;
the report gives the median fit time over rounds, its ratio, and the mean test accuracy.

The data: the embedded 8x8 digits (1,437 train / 360 test) and the 10,000 real MNIST test
images split 8,000 train / 2,000 test (``bp.datasets.load_mnist(dir, "test")``), both split by
``bp.datasets.train_test_split`` with seed 0.

``--defaults`` fits each estimator once with its own defaults instead (where ``MLPClassifier``
stops on a stalled training loss and ours runs every epoch), and once with early stopping;
``--profile EPOCHS`` prints where one Adam fit of each spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import backprop as bp
from backprop.sklearn import NeuralNetClassifier

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """One comparison: a data set and the hyper-parameters both estimators share."""

    data: str
    hidden: tuple[int, ...]
    solver: str
    learning_rate: float
    batch_size: int
    epochs: int
    alpha: float = 1e-4
    momentum: float = 0.9

    def ours(self, seed: int) -> NeuralNetClassifier:
        return NeuralNetClassifier(
            hidden_layer_sizes=self.hidden, solver=self.solver, learning_rate=self.learning_rate,
            batch_size=self.batch_size, max_iter=self.epochs, alpha=self.alpha,
            momentum=self.momentum, random_state=seed,
        )

    def theirs(self, seed: int) -> MLPClassifier:
        return MLPClassifier(
            hidden_layer_sizes=self.hidden, solver=self.solver, learning_rate_init=self.learning_rate,
            batch_size=self.batch_size, max_iter=self.epochs, alpha=self.alpha,
            momentum=self.momentum, nesterovs_momentum=True, tol=0.0,
            n_iter_no_change=self.epochs + 1, random_state=seed,
        )

    def label(self) -> str:
        return (
            f"{self.data}: hidden {self.hidden}, {self.solver} lr {self.learning_rate}, "
            f"batch {self.batch_size}, {self.epochs} epochs"
        )


CASES = (
    Case("digits", (100,), "adam", 1e-3, 200, 200),
    Case("digits", (100,), "sgd", 1e-2, 200, 200),
    Case("mnist", (256, 128), "adam", 1e-3, 200, 20),
    Case("mnist", (256, 128), "sgd", 1e-2, 200, 20),
)


def load(name: str, mnist_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Standardised float32 ``(x_train, y_train), (x_test, y_test)``."""
    if name == "digits":
        x, y = bp.datasets.load_digits(flatten=True)
    else:
        images, y = bp.datasets.load_mnist(mnist_dir, "test")
        x = images.reshape(len(images), -1).astype(np.float32) / 255
    (x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, y, test_fraction=0.2, seed=0)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train), y_train), (scaler.transform(x_test), y_test)


def timed_fit(
    estimator: Any, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of this process (all its threads) and test accuracy of one fit.

    On a shared machine the wall time includes waiting for a core; the CPU time does not,
    so with the BLAS held to one thread it measures the work itself.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    estimator.fit(x, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, estimator.score(x_test, y_test)


def compare(case: Case, data, rounds: int) -> dict[str, list[float]]:
    (x, y), (x_test, y_test) = data
    results: dict[str, list[float]] = {
        f"{who}_{what}": [] for who in ("ours", "theirs") for what in ("s", "cpu", "acc")
    }
    for seed in range(rounds):
        ours, theirs = case.ours(seed), case.theirs(seed)
        order = [("ours", ours), ("theirs", theirs)]
        for name, estimator in order if seed % 2 == 0 else order[::-1]:
            for what, value in zip(("s", "cpu", "acc"), timed_fit(estimator, x, y, x_test, y_test)):
                results[f"{name}_{what}"].append(value)
        assert ours.n_iter_ == theirs.n_iter_ == case.epochs, (ours.n_iter_, theirs.n_iter_)
        assert ours.model_[0].weight.dtype == theirs.coefs_[0].dtype == np.float32
    return results


def defaults(data_sets: dict[str, tuple], seed: int = 0) -> None:
    """Each estimator with its own defaults (and with ``early_stopping=True``): epochs, CPU, accuracy."""
    for name, ((x, y), (x_test, y_test)) in data_sets.items():
        for settings in ({}, {"early_stopping": True}):
            for make in (NeuralNetClassifier, MLPClassifier):
                estimator = make(random_state=seed, **settings)
                _, cpu, accuracy = timed_fit(estimator, x, y, x_test, y_test)
                print(
                    f"{name} {make.__name__}({', '.join(f'{k}={v}' for k, v in settings.items())}):"
                    f" {estimator.n_iter_} epochs, CPU {cpu:.2f} s, test accuracy {accuracy:.4f}"
                )


def profile(data_sets: dict[str, tuple], epochs: int, top: int = 8) -> None:
    """cProfile of one fit of each estimator, Adam, for ``epochs`` epochs: the hottest functions."""
    for name, ((x, y), _) in data_sets.items():
        case = next(c for c in CASES if c.data == name and c.solver == "adam")
        case = dataclasses.replace(case, epochs=epochs)
        for estimator in (case.ours(0), case.theirs(0)):
            print(f"{case.label()}: {type(estimator).__name__}")
            profiler = cProfile.Profile()
            profiler.runcall(estimator.fit, x, y)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fits of each estimator per case (seeds 0..)")
    parser.add_argument("--threads", type=int, help="limit NumPy's BLAS threads (threadpoolctl)")
    parser.add_argument("--mnist-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--only", choices=("digits", "mnist"), help="run one data set only")
    parser.add_argument(
        "--profile", type=int, metavar="EPOCHS", help="instead, cProfile one Adam fit of each"
    )
    parser.add_argument(
        "--defaults", action="store_true",
        help="instead, fit each estimator once with its own defaults (MLPClassifier's tol stop on)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: intended, every epoch runs
    blas = threadpool_info()
    print("BLAS:", ", ".join(f"{i['internal_api']} {i['version']} {i['num_threads']} threads" for i in blas))
    print(f"threads limited to: {args.threads}" if args.threads else "threads: as the BLAS starts")
    cache: dict[str, tuple] = {}
    with threadpool_limits(limits=args.threads, user_api="blas"):
        names = [args.only] if args.only else ["digits", "mnist"]
        if args.defaults or args.profile:
            data_sets = {name: load(name, args.mnist_dir) for name in names}
            defaults(data_sets) if args.defaults else profile(data_sets, args.profile)
            return
        for case in CASES:
            if args.only and case.data != args.only:
                continue
            if case.data not in cache:
                cache[case.data] = load(case.data, args.mnist_dir)
            results = compare(case, cache[case.data], args.rounds)
            print(case.label())
            for what, title in (("s", "wall"), ("cpu", "CPU")):
                ours_s, theirs_s = (statistics.median(results[f"{who}_{what}"]) for who in ("ours", "theirs"))
                print(
                    f"  fit {title} seconds (median of {args.rounds}): ours {ours_s:.2f}"
                    f"  MLPClassifier {theirs_s:.2f}  -> ours {theirs_s / ours_s:.2f}x as fast"
                )
            ours_acc, theirs_acc = (statistics.mean(results[f"{who}_acc"]) for who in ("ours", "theirs"))
            print(
                f"  test accuracy (mean of {args.rounds}): ours {ours_acc:.4f}"
                f"  MLPClassifier {theirs_acc:.4f}  ({100 * (ours_acc - theirs_acc):+.2f} points)"
            )
            for who in ("ours", "theirs"):
                columns = (results[f"{who}_{what}"] for what in ("s", "cpu", "acc"))
                rounds = "  ".join(f"{wall:.2f}s/{cpu:.2f}s/{acc:.4f}" for wall, cpu, acc in zip(*columns))
                print(f"  {who:6} per round (wall/CPU/accuracy): {rounds}")

if __name__ == "__main__":
    main()
