"""backprop's estimators beside scikit-learn's MLPClassifier and MLPRegressor: quality and fit time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 .venv/bin/python benchmarks/sklearn_mlp.py \
        [--rounds 3] [--threads 1] [--mnist-dir ../shared/data/mnist] \
        [--only digits|mnist|diabetes|friedman] \
        [--solver adam|sgd|lbfgs] [--defaults | --profile EPOCHS]

The estimators take the same constructor arguments, so each case builds both from one set:
the same data (float32, standardised on the training part), hidden sizes, solver, learning
rate, batch size, L2 penalty, number of epochs (or lbfgs iterations) and seed. Every epoch runs
for both (``tol=0`` and ``n_iter_no_change`` above ``max_iter``); lbfgs runs until its
``max_iter`` iterations or until L-BFGS-B itself stops, and the report gives both counts. Each
round fits both with the same seed, alternating which goes first; the report gives the median
fit time over rounds (wall and CPU of the process), its ratio, and the mean test score
(accuracy, or R^2 for regression).

The data: the embedded 8x8 digits (1,437 train / 360 test); the 10,000 real MNIST test images
split 8,000 train / 2,000 test (``bp.datasets.load_mnist(dir, "test")``); scikit-learn's
embedded diabetes regression (353 / 89); and Friedman's regression #1 (``make_friedman1``,
10,000 samples, 8,000 / 2,000, noise 1). All split by ``bp.datasets.train_test_split``, seed 0.

``--defaults`` fits each estimator once with its own defaults instead (both stop on ``tol``
now), and once with early stopping; ``--profile EPOCHS`` prints where one Adam fit of each
spends its time (cProfile). ``--max-iter N`` gives every case N epochs (lbfgs: iterations)
instead of its own, for a smoke run whose numbers mean nothing (``tests/test_benchmark_scripts.py``
runs ``--only diabetes --rounds 1 --threads 1 --max-iter 3``).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import backprop as bp
from backprop.sklearn import NeuralNetClassifier, NeuralNetRegressor

ROOT = Path(__file__).resolve().parents[1]
REGRESSION = ("diabetes", "friedman")


def pair(data: str) -> tuple[type, type]:
    """Our estimator and scikit-learn's for the data set's task."""
    return (NeuralNetRegressor, MLPRegressor) if data in REGRESSION else (NeuralNetClassifier, MLPClassifier)


@dataclass(frozen=True)
class Case:
    """One comparison: a data set and the hyper-parameters both estimators share."""

    data: str
    hidden: tuple[int, ...]
    solver: str
    iterations: int
    settings: dict[str, Any] = field(default_factory=dict)

    def estimators(self, seed: int) -> tuple[Any, Any]:
        """Ours and scikit-learn's, built from the same arguments."""
        ours, theirs = pair(self.data)
        arguments = dict(
            hidden_layer_sizes=self.hidden, solver=self.solver, max_iter=self.iterations, tol=0.0,
            n_iter_no_change=self.iterations + 1, random_state=seed, **self.settings,
        )
        return ours(**arguments), theirs(**arguments)

    def label(self) -> str:
        settings = ", ".join(f"{key} {value}" for key, value in self.settings.items())
        unit = "iterations" if self.solver == "lbfgs" else "epochs"
        return f"{self.data}: hidden {self.hidden}, {self.solver} {settings}, {self.iterations} {unit}"


CASES = (
    Case("digits", (100,), "adam", 200, dict(learning_rate_init=1e-3, batch_size=200)),
    Case("digits", (100,), "sgd", 200, dict(learning_rate_init=1e-2, batch_size=200)),
    Case("digits", (100,), "lbfgs", 200),
    Case("mnist", (256, 128), "adam", 20, dict(learning_rate_init=1e-3, batch_size=200)),
    Case("mnist", (256, 128), "sgd", 20, dict(learning_rate_init=1e-2, batch_size=200)),
    Case("mnist", (256, 128), "lbfgs", 50),
    Case("diabetes", (32,), "adam", 300, dict(learning_rate_init=1e-2, batch_size=32, alpha=1.0)),
    Case("diabetes", (32,), "sgd", 300, dict(learning_rate_init=1e-2, batch_size=32, alpha=1.0)),
    Case("diabetes", (32,), "lbfgs", 200, dict(alpha=10.0)),
    Case("friedman", (64, 64), "adam", 40, dict(learning_rate_init=1e-3, batch_size=200)),
    Case("friedman", (64, 64), "sgd", 40, dict(learning_rate_init=1e-3, batch_size=200)),
    Case("friedman", (64, 64), "lbfgs", 200),
)


def load(name: str, mnist_dir: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Standardised float32 ``(x_train, y_train), (x_test, y_test)``; regression targets standardised too."""
    if name == "digits":
        x, y = bp.datasets.load_digits(flatten=True)
    elif name == "mnist":
        images, y = bp.datasets.load_mnist(mnist_dir, "test")
        x = images.reshape(len(images), -1).astype(np.float32) / 255
    else:
        if name == "diabetes":
            x, y = load_diabetes(return_X_y=True)
        else:
            x, y = make_friedman1(10_000, noise=1.0, random_state=0)
        x, y = x.astype(np.float32), ((y - y.mean()) / y.std()).astype(np.float32)
    (x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, y, test_fraction=0.2, seed=0)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train), y_train), (scaler.transform(x_test), y_test)


def timed_fit(
    estimator: Any, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of this process (all its threads) and test score of one fit.

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
        f"{who}_{what}": [] for who in ("ours", "theirs") for what in ("s", "cpu", "score", "iterations")
    }
    for seed in range(rounds):
        ours, theirs = case.estimators(seed)
        order = [("ours", ours), ("theirs", theirs)]
        for name, estimator in order if seed % 2 == 0 else order[::-1]:
            for what, value in zip(("s", "cpu", "score"), timed_fit(estimator, x, y, x_test, y_test)):
                results[f"{name}_{what}"].append(value)
            results[f"{name}_iterations"].append(estimator.n_iter_)
        if case.solver != "lbfgs":
            assert ours.n_iter_ == theirs.n_iter_ == case.iterations, (ours.n_iter_, theirs.n_iter_)
        # (scikit-learn's lbfgs hands back float64 weights: its packed parameters are float64)
        assert ours.coefs_[0].dtype == np.float32
        assert case.solver == "lbfgs" or theirs.coefs_[0].dtype == np.float32
    return results


def defaults(data_sets: dict[str, tuple], seed: int = 0) -> None:
    """Each estimator with its own defaults (and with ``early_stopping=True``): epochs, CPU, score."""
    for name, ((x, y), (x_test, y_test)) in data_sets.items():
        for settings in ({}, {"early_stopping": True}):
            for make in pair(name):
                estimator = make(random_state=seed, **settings)
                _, cpu, score = timed_fit(estimator, x, y, x_test, y_test)
                print(
                    f"{name} {make.__name__}({', '.join(f'{k}={v}' for k, v in settings.items())}):"
                    f" {estimator.n_iter_} epochs, CPU {cpu:.2f} s, test score {score:.4f}"
                )


def profile(data_sets: dict[str, tuple], epochs: int, top: int = 8) -> None:
    """cProfile of one fit of each estimator, Adam, for ``epochs`` epochs: the hottest functions."""
    for name, ((x, y), _) in data_sets.items():
        case = next(c for c in CASES if c.data == name and c.solver == "adam")
        case = dataclasses.replace(case, iterations=epochs)
        for estimator in case.estimators(0):
            print(f"{case.label()}: {type(estimator).__name__}")
            profiler = cProfile.Profile()
            profiler.runcall(estimator.fit, x, y)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fits of each estimator per case (seeds 0..)")
    parser.add_argument("--threads", type=int, help="limit NumPy's BLAS threads (threadpoolctl)")
    parser.add_argument("--mnist-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--only", choices=("digits", "mnist", *REGRESSION), help="run one data set only")
    parser.add_argument("--solver", choices=("adam", "sgd", "lbfgs"), help="run one solver only")
    parser.add_argument(
        "--max-iter", type=int, metavar="N", help="every case's epochs (lbfgs: iterations), for a smoke run"
    )
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
        names = [args.only] if args.only else ["digits", "mnist", *REGRESSION]
        if args.defaults or args.profile:
            data_sets = {name: load(name, args.mnist_dir) for name in names}
            defaults(data_sets) if args.defaults else profile(data_sets, args.profile)
            return
        for case in CASES:
            if (args.only and case.data != args.only) or (args.solver and case.solver != args.solver):
                continue
            if args.max_iter:
                case = dataclasses.replace(case, iterations=args.max_iter)
            if case.data not in cache:
                cache[case.data] = load(case.data, args.mnist_dir)
            results = compare(case, cache[case.data], args.rounds)
            print(case.label())
            theirs_name = "MLPRegressor" if case.data in REGRESSION else "MLPClassifier"
            for what, title in (("s", "wall"), ("cpu", "CPU")):
                ours_s, theirs_s = (statistics.median(results[f"{who}_{what}"]) for who in ("ours", "theirs"))
                print(
                    f"  fit {title} seconds (median of {args.rounds}): ours {ours_s:.2f}"
                    f"  {theirs_name} {theirs_s:.2f}  -> ours {theirs_s / ours_s:.2f}x as fast"
                )
            ours_score, theirs_score = (
                statistics.mean(results[f"{who}_score"])
                for who in ("ours", "theirs")
            )
            metric = "R^2" if case.data in REGRESSION else "accuracy"
            print(
                f"  test {metric} (mean of {args.rounds}): ours {ours_score:.4f}"
                f"  {theirs_name} {theirs_score:.4f}  ({ours_score - theirs_score:+.4f})"
            )
            for who in ("ours", "theirs"):
                columns = (results[f"{who}_{what}"] for what in ("s", "cpu", "score", "iterations"))
                rounds = "  ".join(
                    f"{wall:.2f}s/{cpu:.2f}s/{score:.4f}/{n}" for wall, cpu, score, n in zip(*columns)
                )
                print(f"  {who:6} per round (wall/CPU/score/iterations): {rounds}")


if __name__ == "__main__":
    main()
