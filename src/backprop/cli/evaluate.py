"""``backprop evaluate RUN_OR_MODEL``: loss and accuracy of a trained model on a data set."""

from __future__ import annotations

import argparse

import numpy as np

from ..runs import Run
from . import data, options
from .errors import UserError, warn
from .runs import note_assumptions, open_model
from .scoring import score


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="loss and accuracy of a trained model on a data set",
        description="Evaluate a trained model. On the data set it was trained on, the held-out "
        "test split is used (the same split train made); on any other data set, every sample.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a .safetensors file")
    parser.add_argument("--dataset", help=f"{data.DATASET_HELP} (default: the one it was trained on)")
    parser.add_argument("--data-dir", help="directory of the MNIST files")
    parser.add_argument("--target", help="csv: the target column (default: the one it was trained with)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_run = open_model(args.model)
    record = model_run.record
    dataset, spec, same = _dataset(args, model_run)
    x, y = (dataset.x_test, dataset.y_test) if same else (dataset.x_train, dataset.y_train)
    check_shape(record, dataset.input_shape, spec)
    known = record.get("outputs")  # a bp.save file has no record of it: bp.evaluate checks then
    classes = known if known is None or known > 1 else 2  # a binary model has one output
    numbered = record["task"] == "classification" and model_run.classes is None
    if numbered and classes is not None and len(y) and int(y.max()) >= classes:
        raise UserError(
            f"the model knows the classes 0 to {classes - 1}, {spec} has labels up to {int(y.max())}"
        )
    if not same and dataset.digest == record.get("data_digest"):
        warn(
            f"{spec} holds the very samples {args.model} was trained on, so this score overstates how it "
            f"does on new data; `backprop evaluate {args.model}` scores its held-out test split"
        )
    note_assumptions(model_run, "evaluate")
    result = score(model_run.model, model_run.loss(), x, y, model_run.preprocessing)
    part = "test split" if same else "all samples"
    print(
        "  ".join(f"{key} {value:.4f}" for key, value in result.items())
        + f"  ({len(x)} samples, {spec} {part})"
    )
    return 0


def _dataset(args: argparse.Namespace, model_run: Run) -> tuple[data.Dataset, str, bool]:
    """The data to score on, its spec, and whether it is the data the model was trained on.

    The training data gives its held-out test split again (the record's seed and fractions);
    any other data set is scored whole.
    """
    record = model_run.record
    if record["dataset"] is None and args.dataset is None:
        raise UserError(f"{model_run.path} does not record the data it was trained on; give --dataset")
    hyper = record["hyperparameters"]
    # The record keeps absolute paths; the user may type the same file as a relative one.
    same = args.dataset is None or record["dataset"] in (args.dataset, data.absolute_spec(args.dataset))
    spec = record["dataset"] if same else args.dataset
    options.warn_unused_data_options(args, spec)
    data_dir, origin = data.recorded_data_dir(args.data_dir, record, args.model)
    dataset = data.load(
        spec,
        data_dir=data_dir,
        seed=hyper.get("seed", 0),
        test_fraction=hyper["test_fraction"] if same else 0.0,
        val_fraction=hyper["val_fraction"] if same else 0.0,
        dtype=np.dtype(hyper["dtype"]),
        target=args.target or record.get("target"),
        task=record["task"],
        preprocessing=model_run.preprocessing,
        input_shape=tuple(record["input_shape"]),
        data_dir_origin=origin,
    )
    return dataset, spec, same


def check_shape(record: dict, shape: tuple[int, ...], source: str) -> None:
    expected = tuple(record["input_shape"])
    if tuple(shape) != expected:
        raise UserError(
            f"the model expects samples of shape {expected}, {source} has samples of shape {tuple(shape)}"
        )
