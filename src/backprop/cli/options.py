"""Options that contradict each other, or that the chosen data or model would ignore.

A contradiction (``--model sigmoid-mlp --activation relu``) is a ``UserError``; an option
that would change nothing (``--target`` without a CSV file) is a warning, so that nothing the
user typed is silently dropped.
"""

from __future__ import annotations

import argparse

from .errors import UserError, warn

# The hidden activation each architecture has when --activation does not set it.
FIXED_ACTIVATION = {"sigmoid-mlp": "sigmoid", "cnn": "relu", "resnet": "relu"}
DEFAULT_MOMENTUM = 0.9
# A regressor on standardised targets: SGD's step 0.1 (with momentum 0.9) overfits a few hundred
# rows within ten epochs, and the best validation loss comes early; measured on scikit-learn's
# diabetes table (tests/test_cli.py), these reach about the test error of least squares.
REGRESSION_LR = 0.01
REGRESSION_PATIENCE = 10
# The cnn with SGD's 0.1 (momentum 0.9) kills most of its first-layer filters (their ReLU never
# fires again): 19, 14 and 17 of 32 after 2 epochs (seeds 0-2), 21 after 10, on MNIST's test set
# split 8,000/2,000. At 0.05 none or one die and the accuracy is higher (0.9740 against 0.9695
# after 2 epochs, 0.9885 against 0.9850 after 10, seed 0).
CNN_LR = 0.05


def check_train(args: argparse.Namespace) -> None:
    """Refuse contradictions among ``train``'s options, warn of ignored ones, fill ``--momentum``."""
    fixed = FIXED_ACTIVATION.get(args.model)
    if args.activation is not None and fixed is not None and args.activation != fixed:
        raise UserError(
            f"--model {args.model} has {fixed} hidden layers, but --activation {args.activation} was given; "
            f"use --model mlp --activation {args.activation}, or leave out --activation"
        )
    if args.activation is not None and args.model == "softmax":
        raise UserError(
            "--model softmax has no hidden layer, so --activation has nothing to set; leave it out"
        )
    if args.patience is not None and args.val_fraction == 0:
        raise UserError(
            f"--patience {args.patience} stops on the validation loss, but --val-fraction 0 leaves no "
            "validation split; give --val-fraction above 0 or leave out --patience"
        )
    if args.momentum is not None and args.optimizer != "sgd":
        warn(f"--momentum {args.momentum} applies to --optimizer sgd only; ignored with {args.optimizer}")
        args.momentum = None  # recorded as not used
    if args.momentum is None and args.optimizer == "sgd":
        args.momentum = DEFAULT_MOMENTUM
    warn_unused_data_options(args)


def warn_unused_data_options(args: argparse.Namespace, spec: str | None = None) -> None:
    """``--target``/``--task`` only mean something for CSV data, ``--data-dir`` only for MNIST."""
    spec = args.dataset if spec is None else spec
    if getattr(args, "target", None) is not None and not spec.startswith("csv:"):
        warn(f"--target {args.target} applies to csv: data sets only; ignored with --dataset {spec}")
    if getattr(args, "task", "auto") != "auto" and not spec.startswith("csv:"):
        warn(f"--task {args.task} applies to csv: data sets only; ignored with --dataset {spec}")
    if args.data_dir is not None and spec != "mnist":
        warn(f"--data-dir {args.data_dir} applies to --dataset mnist only; ignored with --dataset {spec}")


def fill_task_defaults(args: argparse.Namespace, task: str, validation: bool) -> str:
    """Set ``--lr`` and ``--patience`` where the user left them out; return a note on what was set.

    Classification keeps SGD's 0.1 (``CNN_LR`` for the cnn; Adam's 0.001) and no early stopping;
    a regression with SGD gets ``REGRESSION_LR``, and with a validation split ``REGRESSION_PATIENCE``.
    """
    chosen = []
    regression_sgd = task == "regression" and args.optimizer == "sgd"
    if args.lr is None:
        if args.optimizer != "sgd":
            args.lr = 1e-3
        else:
            args.lr = REGRESSION_LR if regression_sgd else (CNN_LR if args.model == "cnn" else 0.1)
        if regression_sgd:
            chosen.append(f"--lr {args.lr}")
    if args.patience is None and task == "regression" and validation:
        args.patience = REGRESSION_PATIENCE
        chosen.append(f"--patience {args.patience}")
    return f"regression defaults: {' '.join(chosen)}" if chosen else ""
