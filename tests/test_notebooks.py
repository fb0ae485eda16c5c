"""The tutorial notebooks in notebooks/: each runs top to bottom, and none is committed with outputs.

Every ``notebooks/*.ipynb`` is executed in a fresh Jupyter kernel (``nbclient``, kernel
``python3``: the ipykernel of the interpreter running the tests, the dev extra installs it)
with the repository root as the working directory; any error in any cell fails its test. The
notebooks assert their own numbers (seed 002's printed values, gradients against finite
differences), so a library that disagrees with the maths fails here too.

Outputs are never committed, so that a notebook can never show numbers its code no longer
produces: ``test_notebooks_are_committed_without_outputs`` (fast) checks that every code cell
has no outputs and no execution count. Clear them before committing, e.g. ``jupyter nbconvert
--clear-output --inplace notebooks/*.ipynb``.

nbclient, nbformat or ipykernel missing is a failure, not a skip: they are in the dev extra.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import SHARED_MNIST, skip_or_fail_in_ci

REPOSITORY = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def _source(path: Path) -> str:
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])


def _marks(path: Path) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.slow]
    if "mpiexec" in _source(path):
        marks.append(pytest.mark.mpi)
    return marks


def _execute(text: str):
    """Run every cell of the notebook ``text`` (its JSON) in a fresh python3 kernel from the repository
    root; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.reads(text, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPOSITORY)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {REPOSITORY / 'notebooks'}"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=_marks(p)) for p in NOTEBOOKS])
def test_notebook_runs(path: Path):
    source = _source(path)
    if "mpiexec" in source and not MPIEXEC.is_file():
        skip_or_fail_in_ci(f"no {MPIEXEC}: needs the mpi extra (pip install -e '.[mpi]')")
    if "load_mnist" in source and "BACKPROP_MNIST" not in os.environ and not any(
        SHARED_MNIST.glob("t10k-images-idx3-ubyte*")
    ):
        pytest.skip(f"no MNIST files in {SHARED_MNIST} and no $BACKPROP_MNIST")
    executed = _execute(path.read_text())
    errors = [output for cell in executed.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors, errors


@pytest.mark.slow
def test_the_kernel_is_this_interpreter():
    """kernel_name="python3" must run the notebooks with the interpreter (and so the environment)
    that runs the tests, not some other Python's kernel registered on the machine."""
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": "import os, sys\nprint(sys.executable)\nprint(os.getcwd())"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    executable, cwd = _execute(json.dumps(notebook)).cells[0]["outputs"][0]["text"].splitlines()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(cwd).resolve() == REPOSITORY.resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path: Path):
    stale = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            stale.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            stale.append(f"cell {index} has execution count {cell['execution_count']}")
    assert not stale, f"{path.name}: {', '.join(stale)}; clear the outputs before committing"
