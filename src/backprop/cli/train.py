"""``backprop train``: train one of the seeds' networks and write a run folder.

With no options it is the README's main job: the seeds' digit network
``softmax(W2 ReLU(W1 ReLU(W0 x + b0) + b1) + b2)`` (seed 003's network with biases; the
bias-free one is ``backprop example digits``) on the embedded 8x8 digits. The run folder holds
``model.safetensors`` (weights, architecture and everything ``evaluate``/``predict`` need),
``metrics.json`` and the plots of ``backprop report``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import backprop as bp

from .. import architectures, targets
from ..activity import dead_units
from ..paths import file_problem, folder_problem
from ..runs.layout import CHECKPOINT, METRICS, MODEL, WEIGHTS
from ..runs.preprocessing import Preprocessing
from ..setup import OPTIMIZERS, SCHEDULES, Setup, training_setup
from ..training import CheckpointError
from . import arguments, data, distributed, options
from .errors import UserError, warn
from .outputs import write_json, write_plots
from .runfolder import RunFolder
from .scoring import score

#: The options recorded as a model's hyper-parameters (with the learning rate actually used).
HYPERPARAMETERS = (
    "model",
    "hidden",
    "activation",
    "epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "weight_decay",
    "schedule",
    "patience",
    "seed",
    "dtype",
    "test_fraction",
    "val_fraction",
)
#: The options that make a run what it is: saved in its checkpoint, restored by --resume.
CONFIG_KEYS = ("dataset", "data_dir", "target", "task", *HYPERPARAMETERS, "lr", "checkpoint_every")
#: What the run writes, also saved and restored; --resume may add them, not take them away.
OUTPUT_KEYS = ("no_plots",)
DEFAULTS: dict[str, Any] = {}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a network and write a run folder (model, metrics, plots)",
        description="Train one of the seeds' networks. With no options: the digit network "
        "softmax(W2 ReLU(W1 ReLU(W0 x + b0) + b1) + b2) on the embedded 8x8 digits (the bias-free "
        "network of seed 003 is backprop example digits).",
    )
    _data_arguments(parser)
    _model_arguments(parser)
    _training_arguments(parser)
    _stopping_arguments(parser)
    _split_arguments(parser)
    _run_arguments(parser)
    parser.set_defaults(run=run)
    DEFAULTS.update({key: parser.get_default(key) for key in (*CONFIG_KEYS, *OUTPUT_KEYS)})


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset`` and what reads it: the data, the target column, the task."""
    parser.add_argument("--dataset", default="digits", help=data.DATASET_HELP)
    parser.add_argument(
        "--data-dir", help="directory of the MNIST files (default data/mnist or $BACKPROP_MNIST)"
    )
    parser.add_argument("--target", help="csv: the target column, a name or an index (default: the last)")
    parser.add_argument(
        "--task",
        type=arguments.task,
        default="auto",
        metavar="{auto,classify,regress}",
        help="csv: what the target column is: classes (numbers or names) or values to fit (default auto: "
        f"classes when it holds text, or whole numbers with at most {targets.MAX_CLASSES} distinct values)",
    )


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` and its shape."""
    parser.add_argument(
        "--model",
        choices=architectures.ARCHITECTURES,
        default="mlp",
        help="predefined architecture (default mlp)",
    )
    parser.add_argument("--hidden", type=arguments.sizes, help="hidden layer sizes, e.g. 256,128")
    parser.add_argument(
        "--activation",
        choices=tuple(architectures.ACTIVATIONS),
        help="hidden activation of the mlp (default relu) and of lenet5 (default tanh)",
    )


def _training_arguments(parser: argparse.ArgumentParser) -> None:
    """How the model is trained: epochs, batches, the optimiser and its numbers."""
    parser.add_argument(
        "--epochs", type=arguments.positive_int, default=60, help="passes over the data (default 60)"
    )
    parser.add_argument(
        "--batch-size",
        type=arguments.batch_size,
        default=32,
        help="samples per step, or 'full' for full-batch gradient descent (default 32)",
    )
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="sgd", help="default sgd")
    parser.add_argument(
        "--lr",
        type=arguments.positive_float,
        help=f"learning rate (default 0.1 for sgd, {options.CNN_LR} for the cnn with sgd, 0.01 for sgd on a "
        "regression, 0.001 for adam)",
    )
    parser.add_argument(
        "--momentum", type=arguments.fraction, help=f"sgd momentum (default {options.DEFAULT_MOMENTUM})"
    )
    parser.add_argument(
        "--weight-decay", type=arguments.non_negative_float, default=5e-4, help="L2 penalty (default 5e-4)"
    )


def _stopping_arguments(parser: argparse.ArgumentParser) -> None:
    """How the learning rate falls and when training stops early."""
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="cosine",
        help="learning-rate schedule per epoch: cosine annealing to 0, step (x0.1 every third of the "
        "epochs) or none (default cosine)",
    )
    parser.add_argument(
        "--patience",
        type=arguments.positive_int,
        help="stop after this many epochs without a better validation loss (default: none; "
        f"{options.REGRESSION_PATIENCE} for a regression with a validation split)",
    )


def _split_arguments(parser: argparse.ArgumentParser) -> None:
    """The seed, the dtype and the held-out shares of the data."""
    parser.add_argument(
        "--seed", type=arguments.seed, default=0, help="seeds the split, the weights and the shuffling"
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="default float32")
    parser.add_argument(
        "--test-fraction",
        type=arguments.open_fraction,
        default=0.2,
        help="share held out for test, above 0: every run is scored on data it never saw (0.2)",
    )
    parser.add_argument(
        "--val-fraction", type=arguments.fraction, default=0.1, help="share held out for validation (0.1)"
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the run goes and what it writes: --out, checkpoints, --resume, MPI, output."""
    parser.add_argument("--out", help="run folder (default runs/<timestamp>)")
    parser.add_argument(
        "--overwrite", action="store_true", help="let --out name a folder that holds a run, and replace it"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=arguments.positive_int,
        help=f"also write RUN/{CHECKPOINT} every N steps (it is always written after each epoch)",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the interrupted run in folder RUN from its checkpoint, with its saved configuration",
    )
    distributed.add_arguments(parser)
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--quiet", action="store_true", help="print only the final result")


def run(args: argparse.Namespace) -> int:
    parallel = distributed.start(args)
    with distributed.abort_on_failure(parallel):
        resuming = args.resume is not None
        if resuming:
            if args.overwrite:
                raise UserError("--overwrite starts a new run and --resume continues one; give one of them")
            args = _resumed_arguments(args)
        else:
            options.check_train(args)
        folder = RunFolder(args.resume if resuming else args.out, overwrite=args.overwrite, resuming=resuming)
        with folder.guarded():
            return _train(args, folder, parallel, resuming)


def _train(args: argparse.Namespace, folder: RunFolder, parallel: Any, resuming: bool) -> int:
    """Load the data, build the model and its set-up, fit, then write the results into the folder."""
    dataset = _load_data(args, resuming)
    task_defaults = options.fill_task_defaults(args, dataset.task, len(dataset.x_val) > 0)
    model, made = _build(args, dataset)
    say = _speaker(args, parallel)
    say(
        f"data: {dataset.note}; {len(dataset.x_train)} train, {len(dataset.x_val)} validation, "
        f"{len(dataset.x_test)} test"
    )
    say(f"model: {model}  (loss {type(made.loss).__name__})")
    if task_defaults:
        say(task_defaults)
    # The folder is made now: the first checkpoint is written at the end of the first epoch.
    out = distributed.on_root(parallel, folder.create)
    checkpoint = out / CHECKPOINT
    if resuming:
        say(f"resuming from {checkpoint}")
    try:
        history = _fit(args, dataset, model, made, checkpoint, resuming, parallel)
    except bp.TrainingInterrupted as stop:
        return _interrupted(stop, out, parallel)
    if checkpoint.exists():
        folder.keep()  # the trained weights are on disk: from here on nothing removes the run
    test = score(
        model, made.loss, dataset.x_test, dataset.y_test, dataset.preprocessing, distributed=parallel
    )
    if not distributed.is_root(parallel):
        return 0
    if history.stop_reason:
        say(history.stop_reason)
    dead = _dead_units(say, model, dataset, plots=not args.no_plots)
    _write_results(args, folder, out, dataset, _Trained(model, made.loss, history, test, dead), parallel)
    result = "  ".join(f"test {key} {value:.4f}" for key, value in test.items())
    print(f"{result}  ({history.seconds:.1f}s)  -> {out}")
    return 0


@dataclass
class _Trained:
    """What training gave: the model, its loss, the history, the test scores, the dead first-layer units."""

    model: bp.Layer
    loss: bp.Loss
    history: bp.History
    test: dict[str, float]
    dead: np.ndarray | None


def _load_data(args: argparse.Namespace, resuming: bool) -> data.Dataset:
    """The data set of ``--dataset``, split and preprocessed (a resumed run: as it was recorded)."""
    return data.load(
        args.dataset,
        data_dir=args.data_dir,
        seed=args.seed,
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        dtype=np.dtype(args.dtype),
        target=args.target,
        task=args.task,
        preprocessing=args.saved_preprocessing if resuming else None,
    )


def _build(args: argparse.Namespace, dataset: data.Dataset) -> tuple[bp.Layer, Setup]:
    """The network of ``--model`` for the data, and its loss, optimiser and schedule (``setup``)."""
    if args.model in ("cnn", "lenet5", "resnet") and len(dataset.input_shape) != 3:
        raise UserError(
            f"--model {args.model} needs images; {args.dataset} has samples of shape {dataset.input_shape}"
        )
    try:
        model = architectures.build(
            args.model, dataset.input_shape, dataset.outputs, args.hidden, args.activation,
            np.dtype(args.dtype), args.seed,
        )
    except ValueError as error:
        raise UserError(str(error)) from error
    made = training_setup(
        model,
        dataset.task,
        dataset.outputs,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum if args.optimizer == "sgd" else 0.0,  # None with adam: not used
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        epochs=args.epochs,
    )
    return model, made


def _speaker(args: argparse.Namespace, parallel: Any) -> Callable[[str], None]:
    """``print`` for the run's progress notes, or nothing with ``--quiet`` and on ranks other than 0."""
    return (lambda text: None) if args.quiet or not distributed.is_root(parallel) else print


def _fit(
    args: argparse.Namespace,
    dataset: data.Dataset,
    model: bp.Layer,
    made: Setup,
    checkpoint: Path,
    resuming: bool,
    parallel: Any,
) -> bp.History:
    """``bp.fit`` as the options ask; what the library refuses is the user's error (Ctrl-C passes)."""
    dtype, loss = np.dtype(args.dtype), made.loss
    validation = (
        (dataset.x_val, targets.network_targets(loss, dataset.y_val, dtype)) if len(dataset.x_val) else None
    )
    metadata = {"config": _config(args, dataset), "preprocessing": dataset.preprocessing.to_json()}
    try:
        return bp.fit(
            model,
            loss,
            made.optimizer,
            dataset.x_train,
            targets.network_targets(loss, dataset.y_train, dtype),
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=validation,
            seed=args.seed,
            progress=not args.quiet,
            patience=args.patience,
            schedule=made.schedule,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
            checkpoint_metadata=metadata,
            resume=checkpoint if resuming else None,
            distributed=parallel,
        )
    except (bp.DivergenceError, CheckpointError, ValueError) as error:
        # A divergence, a first checkpoint that cannot be written, data the library refused
        # before the first step, or a checkpoint it cannot resume from.
        raise UserError(str(error)) from error


def _interrupted(stop: bp.TrainingInterrupted, out: Path, parallel: Any) -> int:
    """Ctrl-C or SIGTERM: say where the state is and how to resume; the exit status 128 + signal."""
    code = 128 + stop.signal
    if not distributed.is_root(parallel):
        return code
    what = "terminated (SIGTERM)" if stop.signal == signal.SIGTERM else "interrupted"
    if stop.checkpoint is None:
        print(f"backprop: {stop}", file=sys.stderr)
    else:
        print(
            f"backprop: {what}; the state is in {stop.checkpoint}. Resume with: backprop train"
            f" --resume {shlex.quote(str(out))}{distributed.resume_hint(parallel)}",
            file=sys.stderr,
        )
    return code


def _dead_units(
    say: Callable[[str], None], model: bp.Layer, dataset: data.Dataset, plots: bool
) -> np.ndarray | None:
    """The first layer's dead ReLU units on the test split (None without one), noted if there are any
    (and where the figure of the weights marks them, when figures are drawn)."""
    dead = dead_units(model, dataset.x_test) if len(dataset.x_test) else None
    if dead is not None and dead.any():
        where = f" ({WEIGHTS} marks them)" if plots else ""
        say(
            f"note: {int(dead.sum())} of {len(dead)} first-layer units are dead: their ReLU fires on no"
            f" test sample, so they get no gradient and no longer learn{where}"
        )
    return dead


def _write_results(
    args: argparse.Namespace,
    folder: RunFolder,
    out: Path,
    dataset: data.Dataset,
    trained: _Trained,
    parallel: Any,
) -> None:
    """The model file (with its record), ``metrics.json`` and the figures; a failure says how to finish."""
    hyper = _hyperparameters(args)
    checkpoint = out / CHECKPOINT
    resume = f"backprop train --resume {shlex.quote(str(out))}"
    record = _record(args, dataset, trained.loss, hyper)
    _write(out / MODEL, lambda path: bp.save(trained.model, path, metadata=record), checkpoint, resume)
    folder.keep()
    metrics = _metrics(args, dataset, trained, hyper, parallel)
    _write(out / METRICS, lambda path: write_json(path, metrics), checkpoint, resume)
    if not args.no_plots:
        try:
            write_plots(out, trained.model, trained.history, dataset, dead=trained.dead)
        except OSError as error:
            warn(
                f"could not draw the figures ({error.strerror or error}); the model and the metrics are"
                f" written, and `backprop report {shlex.quote(str(out))}` draws the figures later"
            )


def _hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """``HYPERPARAMETERS``'s options as the run used them (the learning rate actually used)."""
    hyper = {key: getattr(args, key) for key in HYPERPARAMETERS}
    hyper["lr"] = args.lr
    hyper["hidden"] = list(args.hidden) if args.hidden else None
    return hyper


def _record(
    args: argparse.Namespace, dataset: data.Dataset, loss: bp.Loss, hyper: dict[str, Any]
) -> dict[str, Any]:
    """What the model file records (``backprop.runs.RECORD_KEYS`` and more) for evaluate, predict, report."""
    return {
        "dataset": data.absolute_spec(args.dataset),
        "target": args.target,
        "task": dataset.task,
        "input_shape": list(dataset.input_shape),
        "outputs": dataset.outputs,
        "preprocessing": dataset.preprocessing.to_json(),
        "data_dir": dataset.data_dir,
        "data_digest": dataset.digest,
        "loss": type(loss).__name__,
        "hyperparameters": hyper,
    }


def _metrics(
    args: argparse.Namespace, dataset: data.Dataset, trained: _Trained, hyper: dict[str, Any], parallel: Any
) -> dict[str, Any]:
    """``metrics.json``: test scores, history, sizes, seed, hyper-parameters, the machine."""
    history = trained.history
    return {f"test_{key}": value for key, value in trained.test.items()} | {
        "history": {key: values for key, values in history.items() if values},
        "epochs_run": history.epochs_run,
        "best_epoch": history.best_epoch,
        "stop_reason": history.stop_reason,
        "wall_time_seconds": round(history.seconds, 3),
        "samples": {
            "train": len(dataset.x_train),
            "validation": len(dataset.x_val),
            "test": len(dataset.x_test),
        },
        "dataset": data.absolute_spec(args.dataset),
        "seed": args.seed,
        "world_size": distributed.world_size(parallel),
        "dead_first_layer_units": None if trained.dead is None else int(trained.dead.sum()),
        "hyperparameters": hyper,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "backprop": bp.__version__},
    }


def _config(args: argparse.Namespace, dataset: data.Dataset) -> dict[str, Any]:
    """The options ``--resume`` restores, with the data found by absolute paths from any directory."""
    config = {key: getattr(args, key) for key in (*CONFIG_KEYS, *OUTPUT_KEYS)}
    config["dataset"] = data.absolute_spec(args.dataset)
    if dataset.data_dir is not None:
        config["data_dir"] = dataset.data_dir  # where MNIST was found (already absolute)
    elif args.data_dir is not None:
        config["data_dir"] = os.path.abspath(args.data_dir)
    return config


def _write(path: Path, write: Callable[[Path], None], checkpoint: Path, resume: str) -> None:
    """Write one of the run's results; a failure says where the trained weights are and how to finish."""
    try:
        write(path)
    except OSError as error:
        kept = f"the trained weights are in {checkpoint}" if checkpoint.exists() else "nothing else was lost"
        raise UserError(
            f"could not write {path} ({error.strerror or error}); {kept}: make room, then `{resume}`"
            " writes the model, the metrics and the figures"
        ) from error


def _resumed_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """The saved configuration of run ``args.resume``, refusing options that would change it."""
    folder = Path(args.resume)
    given = [key for key in CONFIG_KEYS if getattr(args, key) != DEFAULTS[key]]
    if args.out is not None and Path(args.out) != folder:
        given.append("out")
    if given:
        options = ", ".join("--" + key.replace("_", "-") for key in given)
        raise UserError(f"--resume continues {folder} with its saved configuration; leave out {options}")
    config, outputs, preprocessing = _saved_configuration(_resumable_checkpoint(folder))
    resumed = argparse.Namespace(**vars(args))
    for key, value in config.items():
        setattr(resumed, key, tuple(value) if key == "hidden" and value is not None else value)
    for key, value in outputs.items():
        setattr(resumed, key, bool(value) or getattr(args, key))
    resumed.task = arguments.TASK_NAMES.get(resumed.task, resumed.task)
    resumed.saved_preprocessing = preprocessing
    return resumed


def _resumable_checkpoint(folder: Path) -> Path:
    """The checkpoint of run folder ``folder``, refusing a folder that is not an unfinished run."""
    problem = folder_problem(folder)
    if problem is not None:
        raise UserError(f"--resume {folder}: {problem.replace('no such folder', 'no such run folder')}")
    path = folder / CHECKPOINT
    if (folder / METRICS).exists():
        raise UserError(f"--resume {folder}: this run already finished (its {METRICS} is written)")
    problem = file_problem(path)
    if problem == "no such file":
        raise UserError(
            f"--resume {folder}: no {CHECKPOINT} to resume from (train writes one after every epoch)"
        )
    if problem is not None:
        raise UserError(f"--resume {folder}: {path} {problem}")
    return path


def _saved_configuration(path: Path) -> tuple[dict[str, Any], dict[str, Any], Preprocessing]:
    """The options (``CONFIG_KEYS``, ``OUTPUT_KEYS``) and the preprocessing that checkpoint ``path`` saved."""
    try:
        saved = bp.read_checkpoint(path).metadata
        config = {key: saved["config"][key] for key in CONFIG_KEYS}
        outputs = {key: saved["config"].get(key, DEFAULTS[key]) for key in OUTPUT_KEYS}
        recorded = saved["preprocessing"]
    except (KeyError, TypeError) as error:
        raise UserError(f"{path}: not a checkpoint written by backprop train (no {error} in it)") from error
    except ValueError as error:
        raise UserError(str(error)) from error
    try:
        preprocessing = Preprocessing.from_json(recorded)
    except ValueError as error:
        raise UserError(f"{path}: {error}") from error
    return config, outputs, preprocessing


if __name__ == "__main__":
    sys.exit("run as: backprop train")
