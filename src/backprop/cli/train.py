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
from pathlib import Path
from typing import Any

import numpy as np

import backprop as bp

from .. import architectures, targets
from ..activity import dead_units
from ..paths import file_problem, folder_problem
from ..training import CheckpointError
from . import arguments, data, distributed, options
from .errors import UserError, warn
from .outputs import write_json, write_plots
from .runfolder import RunFolder
from .scoring import score

CHECKPOINT = "checkpoint.safetensors"
MODEL = "model.safetensors"
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
        help="hidden activation of the mlp (default relu)",
    )
    parser.add_argument(
        "--epochs", type=arguments.positive_int, default=60, help="passes over the data (default 60)"
    )
    parser.add_argument(
        "--batch-size",
        type=arguments.batch_size,
        default=32,
        help="samples per step, or 'full' for full-batch gradient descent (default 32)",
    )
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="default sgd")
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
    parser.add_argument(
        "--schedule",
        choices=("cosine", "step", "none"),
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
    parser.add_argument("--out", help="run folder (default runs/<timestamp>)")
    parser.add_argument(
        "--overwrite", action="store_true", help="let --out name a folder that holds a run, and replace it"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=arguments.positive_int,
        help="also write RUN/checkpoint.safetensors every N steps (it is always written after each epoch)",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the interrupted run in folder RUN from its checkpoint, with its saved configuration",
    )
    distributed.add_arguments(parser)
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--quiet", action="store_true", help="print only the final result")
    parser.set_defaults(run=run)
    DEFAULTS.update({key: parser.get_default(key) for key in (*CONFIG_KEYS, *OUTPUT_KEYS)})


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
    dtype = np.dtype(args.dtype)
    dataset = data.load(
        args.dataset,
        data_dir=args.data_dir,
        seed=args.seed,
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        dtype=dtype,
        target=args.target,
        task=args.task,
        preprocessing=args.saved_preprocessing if resuming else None,
    )
    task_defaults = options.fill_task_defaults(args, dataset.task, len(dataset.x_val) > 0)
    if args.model == "cnn" and len(dataset.input_shape) != 3:
        raise UserError(
            f"--model cnn needs images; {args.dataset} has samples of shape {dataset.input_shape}"
        )
    try:
        model = architectures.build(
            args.model, dataset.input_shape, dataset.outputs, args.hidden, args.activation, dtype, args.seed
        )
    except ValueError as error:
        raise UserError(str(error)) from error
    loss = targets.loss_for(dataset.task, dataset.outputs)
    lr = args.lr
    if args.optimizer == "sgd":
        optimizer = bp.SGD(model, lr, momentum=args.momentum, weight_decay=args.weight_decay)
    else:
        optimizer = bp.Adam(model, lr, weight_decay=args.weight_decay)
    schedule = None
    if args.schedule == "cosine":
        schedule = bp.CosineLR(optimizer, args.epochs)
    elif args.schedule == "step":
        schedule = bp.StepLR(optimizer, max(1, args.epochs // 3))

    say = (lambda text: None) if args.quiet or not distributed.is_root(parallel) else print
    say(
        f"data: {dataset.note}; {len(dataset.x_train)} train, {len(dataset.x_val)} validation, "
        f"{len(dataset.x_test)} test"
    )
    say(f"model: {model}  (loss {type(loss).__name__})")
    if task_defaults:
        say(task_defaults)
    validation = (
        (dataset.x_val, targets.network_targets(loss, dataset.y_val, dtype)) if len(dataset.x_val) else None
    )
    # The folder is made now: the first checkpoint is written at the end of the first epoch.
    out = distributed.on_root(parallel, folder.create)
    checkpoint = out / CHECKPOINT
    if resuming:
        say(f"resuming from {checkpoint}")
    try:
        history = bp.fit(
            model,
            loss,
            optimizer,
            dataset.x_train,
            targets.network_targets(loss, dataset.y_train, dtype),
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=validation,
            seed=args.seed,
            progress=not args.quiet,
            patience=args.patience,
            schedule=schedule,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
            checkpoint_metadata={"config": _config(args, dataset), "preprocessing": dataset.preprocessing},
            resume=checkpoint if resuming else None,
            distributed=parallel,
        )
    except bp.DivergenceError as error:
        raise UserError(str(error)) from error
    except CheckpointError as error:
        raise UserError(str(error)) from error
    except bp.TrainingInterrupted as stop:
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
    except ValueError as error:
        # Data the library refused before the first step, or a checkpoint it cannot resume from.
        raise UserError(str(error)) from error
    if checkpoint.exists():
        folder.keep()  # the trained weights are on disk: from here on nothing removes the run
    test = score(model, loss, dataset.x_test, dataset.y_test, dataset.preprocessing, distributed=parallel)
    if not distributed.is_root(parallel):
        return 0
    if history.stop_reason:
        say(history.stop_reason)
    dead = dead_units(model, dataset.x_test) if len(dataset.x_test) else None
    if dead is not None and dead.any():
        say(
            f"note: {int(dead.sum())} of {len(dead)} first-layer units are dead: their ReLU fires on no"
            " test sample, so they get no gradient and no longer learn (weights.png marks them)"
        )

    hyper = {key: getattr(args, key) for key in HYPERPARAMETERS}
    hyper["lr"] = lr
    hyper["hidden"] = list(args.hidden) if args.hidden else None
    metadata = {
        "dataset": data.absolute_spec(args.dataset),
        "target": args.target,
        "task": dataset.task,
        "input_shape": list(dataset.input_shape),
        "outputs": dataset.outputs,
        "preprocessing": dataset.preprocessing,
        "data_dir": dataset.data_dir,
        "data_digest": dataset.digest,
        "loss": type(loss).__name__,
        "hyperparameters": hyper,
    }
    resume = f"backprop train --resume {shlex.quote(str(out))}"
    _write(out / MODEL, lambda path: bp.save(model, path, metadata=metadata), checkpoint, resume)
    folder.keep()
    metrics = {f"test_{key}": value for key, value in test.items()} | {
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
        "dead_first_layer_units": None if dead is None else int(dead.sum()),
        "hyperparameters": hyper,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "backprop": bp.__version__},
    }
    _write(out / "metrics.json", lambda path: write_json(path, metrics), checkpoint, resume)
    if not args.no_plots:
        try:
            write_plots(out, model, history, dataset, dead=dead)
        except OSError as error:
            warn(
                f"could not draw the figures ({error.strerror or error}); the model and the metrics are"
                f" written, and `backprop report {shlex.quote(str(out))}` draws the figures later"
            )
    result = "  ".join(f"test {key} {value:.4f}" for key, value in test.items())
    print(f"{result}  ({history.seconds:.1f}s)  -> {out}")
    return 0


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
    problem = folder_problem(folder)
    if problem is not None:
        raise UserError(f"--resume {folder}: {problem.replace('no such folder', 'no such run folder')}")
    path = folder / CHECKPOINT
    if (folder / "metrics.json").exists():
        raise UserError(f"--resume {folder}: this run already finished (its metrics.json is written)")
    problem = file_problem(path)
    if problem == "no such file":
        raise UserError(
            f"--resume {folder}: no {CHECKPOINT} to resume from (train writes one after every epoch)"
        )
    if problem is not None:
        raise UserError(f"--resume {folder}: {path} {problem}")
    try:
        saved = bp.read_checkpoint(path).metadata
        config = {key: saved["config"][key] for key in CONFIG_KEYS}
        outputs = {key: saved["config"].get(key, DEFAULTS[key]) for key in OUTPUT_KEYS}
        preprocessing = saved["preprocessing"]
    except (KeyError, TypeError) as error:
        raise UserError(f"{path}: not a checkpoint written by backprop train (no {error} in it)") from error
    except ValueError as error:
        raise UserError(str(error)) from error
    resumed = argparse.Namespace(**vars(args))
    for key, value in config.items():
        setattr(resumed, key, tuple(value) if key == "hidden" and value is not None else value)
    for key, value in outputs.items():
        setattr(resumed, key, bool(value) or getattr(args, key))
    resumed.task = arguments.TASK_NAMES.get(resumed.task, resumed.task)
    resumed.saved_preprocessing = preprocessing
    return resumed


if __name__ == "__main__":
    sys.exit("run as: backprop train")
