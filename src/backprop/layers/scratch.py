"""Buffers a layer reuses from step to step: one array per name and shape, made on first use.

A training step at a fixed batch size asks for the same shapes every time, so after the
first step nothing is allocated. An epoch's last, shorter batch (and evaluation batches)
add a few more shapes; the oldest are dropped beyond ``KEEP`` shapes per name so that memory
stays bounded. What lives here is overwritten by the layer's next call: it is never
handed to a user (see ``Layer._prepared_forward``).
"""

from __future__ import annotations

import numpy as np

KEEP = 4  # shapes kept per buffer name: the batch, the epoch's last batch, evaluation's


class Scratch:
    """``scratch.array(name, shape, dtype)``: the same array for the same arguments, until dropped."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, tuple[int, ...], np.dtype], np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` kept under ``name``."""
        key = (name, shape, dtype)
        found = self._arrays.get(key)
        if found is None:
            same_name = [k for k in self._arrays if k[0] == name]
            for old in same_name[: max(0, len(same_name) - KEEP + 1)]:
                del self._arrays[old]
            found = self._arrays[key] = np.empty(shape, dtype)
        return found

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array of zeros kept under ``name``; callers must never write into it."""
        key = (name, shape, dtype)
        if key not in self._arrays:
            self.array(name, shape, dtype).fill(0)
        return self._arrays[key]
