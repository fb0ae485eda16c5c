"""``backprop.runs.layout``: the run folder's file names, spelt once; and the run package's
data loading, whose ValueErrors the command line prints as they are."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.cli import runfolder
from backprop.cli.data import load as command_line_load
from backprop.cli.errors import UserError
from backprop.runs import layout
from backprop.runs.data import load


def test_the_names_and_which_of_them_mean_a_run():
    assert layout.RUN_FILES == (
        "model.safetensors", "checkpoint.safetensors", "metrics.json",
        "curves.png", "confusion.png", "weights.png", "misclassified.png",
    )
    assert layout.RUN_MARKERS == (layout.MODEL, layout.CHECKPOINT, layout.METRICS)
    assert runfolder.RUN_FILES is layout.RUN_FILES and runfolder.holds_run is layout.holds_run


def test_holds_run(tmp_path):
    assert layout.holds_run(tmp_path) == []
    for name in (layout.CURVES, "notes.txt"):
        (tmp_path / name).write_text("")
    assert layout.holds_run(tmp_path) == []  # figures alone are no run
    (tmp_path / layout.METRICS).write_text("{}")
    (tmp_path / layout.CHECKPOINT).symlink_to(tmp_path / "gone")  # a broken link still takes the name
    assert layout.holds_run(str(tmp_path)) == [layout.CHECKPOINT, layout.METRICS]


@pytest.mark.parametrize(
    ("spec", "fractions", "said"),
    [
        ("digits", (0.5, 0.6), "--val-fraction 0.5 and --test-fraction 0.6 add up to 1.1"),
        ("csv:", (0.1, 0.2), "--dataset csv:: expected a file name after the colon"),
        ("tsv:x", (0.1, 0.2), "unknown --dataset 'tsv:x'; choose digits (embedded, default), mnist"),
    ],
)
def test_the_library_refuses_in_the_options_words_and_the_command_line_says_the_same(spec, fractions, said):
    split = {"data_dir": None, "seed": 0, "val_fraction": fractions[0], "test_fraction": fractions[1],
             "dtype": np.float32}
    with pytest.raises(ValueError) as library:
        load(spec, **split)
    with pytest.raises(UserError) as command_line:
        command_line_load(spec, **split)
    assert said in str(library.value) and str(command_line.value) == str(library.value)


def test_the_library_takes_the_task_by_its_recorded_name():
    with pytest.raises(ValueError, match="load: task must be one of auto, classification, regression, got 'regress'"):
        load("digits", data_dir=None, seed=0, test_fraction=0.2, val_fraction=0.1, dtype=np.float32, task="regress")
