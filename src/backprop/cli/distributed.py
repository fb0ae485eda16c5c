"""``backprop train --distributed``: the MPI side of the command, and the job control of an MPI run.

``start`` builds the ``DataParallel`` strategy on ``MPI.COMM_WORLD`` and installs the
excepthook that aborts the job (``install_excepthook``); ``abort_on_failure`` does the same for
errors ``main`` would otherwise turn into a normal exit, because a rank that leaves quietly
leaves the others waiting forever in their next all-reduce (``abort``). Only rank 0 prints and
writes (``is_root``, ``on_root``; the folder's name reaches the others by ``broadcast_text``).
The training strategy itself (``backprop.distributed``) does no job control.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from . import arguments
from .errors import Terminated, UserError, warn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over MPI: run as 'mpiexec -n P backprop train --distributed ...'; "
        "--batch-size is the global batch, split across the P ranks (needs the mpi extra)",
    )
    parser.add_argument(
        "--check-replicas",
        type=arguments.positive_int,
        metavar="N",
        help="with --distributed: check every N steps that the weights are bit-identical on every rank",
    )


def start(args: argparse.Namespace) -> Any:
    """The ``DataParallel`` strategy for ``--distributed`` (``None`` without it)."""
    if not args.distributed:
        if args.check_replicas is not None:
            raise UserError("--check-replicas needs --distributed")
        return None
    try:
        from mpi4py import MPI

        from ..distributed import DataParallel
    except ImportError as error:
        raise UserError(
            f"--distributed needs mpi4py and an MPI runtime ({error}); install them with"
            " pip install 'backprop[mpi]'"
        ) from error
    parallel = DataParallel(MPI.COMM_WORLD, check_every=args.check_replicas)
    install_excepthook(parallel.comm)
    if parallel.size == 1:
        warn(
            "--distributed: MPI reports one process, so this run trains in one process; start several"
            " with: mpiexec -n 2 backprop train --distributed ..."
        )
    return parallel


@contextlib.contextmanager
def abort_on_failure(parallel: Any) -> Iterator[None]:
    """Under ``--distributed``, any error on a rank ends every rank (``MPI_Abort``) with its message.

    A user's mistake keeps its one line (exit status 2), Ctrl-C its 130, SIGTERM its 143, a bug
    its traceback.
    """
    if parallel is None or parallel.size == 1:
        yield
        return
    try:
        yield
    except UserError as error:
        abort(parallel.comm, f"backprop: error: {error}", 2)
    except Terminated:
        abort(parallel.comm, "backprop: terminated (SIGTERM)", 128 + signal.SIGTERM)
    except KeyboardInterrupt:
        abort(parallel.comm, "backprop: interrupted", 130)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        abort(parallel.comm, f"backprop: error: {type(error).__name__}: {error}", 1)


def is_root(parallel: Any) -> bool:
    """True in one process and on rank 0: the process that prints and writes."""
    return parallel is None or parallel.is_root


def on_root(parallel: Any, make_folder: Callable[[], Path]) -> Path:
    """``make_folder()`` on rank 0 only; its path, broadcast, on every rank."""
    if parallel is None:
        return make_folder()
    folder = make_folder() if parallel.is_root else None
    return Path(broadcast_text(parallel.comm, None if folder is None else str(folder)))


def world_size(parallel: Any) -> int:
    return 1 if parallel is None else parallel.size


def resume_hint(parallel: Any) -> str:
    """What to add to ``backprop train --resume RUN`` to continue a distributed run."""
    return "" if parallel is None else f" --distributed (under mpiexec -n {parallel.size})"


#: Seconds between printing the reason for an abort and MPI_Abort (see ``abort``).
ABORT_GRACE_SECONDS = 0.5


def broadcast_text(comm: Any, text: str | None) -> str:
    """Rank 0's ``text`` on every rank of ``comm`` (a buffer broadcast: length, then UTF-8 bytes)."""
    root = comm.Get_rank() == 0
    data = (text or "").encode() if root else b""
    length = np.array([len(data)], dtype=np.int64)
    comm.Bcast(length, root=0)
    payload = np.frombuffer(data, dtype=np.uint8).copy() if root else np.empty(int(length[0]), dtype=np.uint8)
    comm.Bcast(payload, root=0)
    return payload.tobytes().decode()


def abort(comm: Any, message: str, code: int = 1) -> None:
    """Print ``message`` (naming this rank) on stderr and end every rank of the job now."""
    where = f"rank {comm.Get_rank()} of {comm.Get_size()}"
    print(f"{message} ({where}; aborting the MPI job)", file=sys.stderr, flush=True)
    # mpiexec forwards each rank's stderr through its process manager, which tears the job
    # down on Abort without always draining that pipe first: a moment lets the line through.
    time.sleep(ABORT_GRACE_SECONDS)
    comm.Abort(code)


def install_excepthook(comm: Any) -> None:
    """An uncaught exception on any rank prints its traceback and aborts the whole job.

    Without it, the other ranks would wait forever in their next collective call (mpi4py's
    ``python -m mpi4py`` does the same for a script; a script run by plain ``python`` does not).
    """

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        traceback.print_exception(kind, error, tb)
        abort(comm, f"backprop: error: {kind.__name__}: {error}")

    sys.excepthook = hook
