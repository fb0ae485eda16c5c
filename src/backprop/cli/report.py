"""``backprop report RUN``: the figures of a run, made again from its model and data.

``train`` calls ``outputs.write_plots`` itself; ``report`` rebuilds the same data split from the
model file's record (data set, seed, fractions, preprocessing) to make them later.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..runs import layout
from ..runs.preprocessing import Preprocessing
from . import data, options
from .errors import UserError
from .outputs import write_plots
from .runs import load_run


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report",
        help="draw a run's figures: curves, confusion matrix, first-layer weights, mistakes",
        description=f"Write {', '.join(layout.FIGURES[:-1])} and {layout.FIGURES[-1]} into a run folder.",
    )
    parser.add_argument("run_folder", metavar="RUN", help="a run folder written by backprop train")
    parser.add_argument("--data-dir", help="directory of the MNIST files, if the run used them")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.run_folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    model, record = load_run(folder)
    options.warn_unused_data_options(args, record["dataset"])
    metrics_path = folder / layout.METRICS
    try:
        history = json.loads(metrics_path.read_text(encoding="utf-8")).get("history", {})
    except (OSError, ValueError) as error:
        raise UserError(f"{metrics_path}: cannot read the run's metrics ({error})") from error
    dataset = dataset_of(record, args.data_dir, str(folder))
    for path in write_plots(folder, model, history, dataset):
        print(path)
    return 0


def dataset_of(record: dict[str, Any], data_dir: str | None, run: str) -> data.Dataset:
    """The run's data split again, preprocessed with the recorded preprocessing."""
    hyper = record["hyperparameters"]
    data_dir, origin = data.recorded_data_dir(data_dir, record, run)
    return data.load(
        record["dataset"],
        data_dir=data_dir,
        data_dir_origin=origin,
        seed=hyper["seed"],
        test_fraction=hyper["test_fraction"],
        val_fraction=hyper["val_fraction"],
        dtype=np.dtype(hyper["dtype"]),
        target=record.get("target"),
        task=record["task"],
        preprocessing=Preprocessing.from_json(record["preprocessing"]),
    )
