"""The safetensors container that model files and checkpoints share: one write, one read.

A backprop file is a safetensors file (https://github.com/huggingface/safetensors): raw
little-endian tensors and a header whose metadata maps strings to strings. Two kinds are
written, each a ``Format``: ``MODEL`` (``bp.save``, ``io.py``) and ``CHECKPOINT``
(``checkpoint.py``). Their metadata always holds ``"format"`` (which kind) and
``"format_version"``; the rest are entries of their own, JSON in a string where a value is
not text (the architecture, the training state).

- **Writing**, ``write_safetensors``: the bytes, laid out so that the same content always
  gives the same bytes (``sha256sum`` compares runs). A caller wraps it in
  ``files.atomic_write`` and stamps its metadata with ``Format.metadata``.
- **Reading**, ``read``: the one way in. It refuses a path that is not a readable regular
  file before safetensors opens it (``paths.check_readable_file``: safetensors would wait for
  ever on a FIFO and call a folder "No such device"), checks ``"format"`` and
  ``"format_version"`` against the caller's ``Format``, parses JSON entries, and turns
  safetensors' and the system's errors into one ValueError that names the file. Every
  message is the ``Format``'s own, so a model file and a checkpoint each speak of themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from safetensors import SafetensorError, safe_open

from ._version import __version__
from .paths import check_readable_file

__all__ = [
    "CHECKPOINT",
    "FORMATS",
    "MODEL",
    "SAFETENSORS_DTYPES",
    "Contents",
    "Format",
    "read",
    "write_safetensors",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Format:
    """One kind of backprop file: its ``"format"`` name, the version written and those read, its words.

    The messages are ``str.format`` templates, said after ``"PATH: "``: ``foreign`` (another
    ``"format"``; ``{kind}`` names what the file is instead), ``unknown_version`` (``{found}``,
    ``{reads}``, ``{backprop}``), ``no_entry`` and ``bad_entry`` (``{key}``, ``{error}``).
    """

    name: str
    version: str
    reads: tuple[str, ...]
    title: str  # what a file of this format is, as a message names it: "a backprop model file"
    noun: str  # "no such <noun>" when nothing is at the path
    unreadable: str  # "not a readable <unreadable> (<safetensors' error>)"
    foreign: str
    unknown_version: str
    no_entry: str
    bad_entry: str

    def metadata(self, entries: Mapping[str, str]) -> dict[str, str]:
        """``entries`` stamped with this format's ``"format"`` and ``"format_version"``."""
        return {"format": self.name, "format_version": self.version, **entries}


MODEL = Format(
    name="backprop",
    version="1",
    reads=("1",),
    title="a backprop model file",
    noun="file",
    unreadable="safetensors file",
    foreign='not a backprop model file (a safetensors file without "format": "backprop" in its metadata)',
    unknown_version="the file has backprop format version {found!r}, this backprop ({backprop}) reads"
    " version {reads}; a newer backprop may read it",
    no_entry='the metadata has no "{key}" entry',
    bad_entry='the metadata entry "{key}" is not valid JSON ({error})',
)
CHECKPOINT = Format(
    name="backprop-checkpoint",
    version="1",
    reads=("1",),
    title="a backprop checkpoint",
    noun="checkpoint",
    unreadable="checkpoint",
    foreign='not a backprop checkpoint ({kind} without "format": "backprop-checkpoint")',
    unknown_version="checkpoint format version {found!r}, this backprop reads version {reads}",
    no_entry='the checkpoint has no "{key}" entry',
    bad_entry='the checkpoint\'s "{key}" entry is not valid JSON ({error})',
)
#: Every format by its ``"format"`` name: a refusal says which other kind a file is.
FORMATS = {kind.name: kind for kind in (MODEL, CHECKPOINT)}


# --- writing ------------------------------------------------------------------------------

#: The safetensors dtype of each NumPy dtype, in the order the safetensors library lays tensors
#: out (its ``Dtype`` enum, last first): the largest items first, so every tensor's data starts
#: at a multiple of its item size.
SAFETENSORS_DTYPES = {
    np.dtype(kind).newbyteorder("<"): code
    for kind, code in (
        (np.uint64, "U64"), (np.int64, "I64"), (np.float64, "F64"), (np.float32, "F32"),
        (np.uint32, "U32"), (np.int32, "I32"), (np.float16, "F16"), (np.uint16, "U16"),
        (np.int16, "I16"), (np.int8, "I8"), (np.uint8, "U8"), (np.bool_, "BOOL"),
    )
}
_DTYPE_ORDER = {code: position for position, code in enumerate(SAFETENSORS_DTYPES.values())}


def write_safetensors(
    file: IO[bytes], tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``tensors`` and the string map ``metadata`` to ``file`` as a safetensors file.

    The format (https://github.com/huggingface/safetensors, "Format"), which the
    ``safetensors`` library and every backprop read:

    - 8 bytes: ``N``, the size of the header, an unsigned 64-bit little-endian integer;
    - ``N`` bytes: the header, a UTF-8 JSON object holding ``"__metadata__"`` (strings to
      strings, left out when empty) and, for each tensor, ``"name": {"dtype": "F32",
      "shape": [2, 3], "data_offsets": [begin, end]}``, the offsets counted in bytes from the
      start of the data; padded with spaces to a multiple of 8 bytes;
    - the data: each tensor's bytes in C order, little-endian, one after the other with no
      gap, covering the whole rest of the file.

    The library's own writer keeps the metadata in a Rust ``HashMap``, whose order changes
    from call to call; here everything has a fixed order (the metadata's keys sorted, the
    tensors in the library's order: by dtype, largest items first, then by name), so the
    same content always gives the same bytes. The JSON is compact, as the library writes it.
    Views and big-endian arrays are written as their values. Raises TypeError for a dtype
    safetensors has no name for and for metadata that is not strings to strings.
    """
    if metadata and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        got = f"{dict(metadata)!r:.200}"
        raise TypeError(f"write_safetensors: metadata must map strings to strings, got {got}")
    entries, offset = [], 0
    for name, array in tensors.items():
        dtype = array.dtype.newbyteorder("<")
        code = SAFETENSORS_DTYPES.get(dtype)
        if code is None:
            raise TypeError(
                f"write_safetensors: tensor {name!r} has dtype {array.dtype}; expected one of"
                f" {', '.join(sorted(str(known) for known in SAFETENSORS_DTYPES))}"
            )
        entries.append((_DTYPE_ORDER[code], name, code, np.asarray(array, dtype, order="C")))
    entries.sort(key=lambda entry: entry[:2])
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {key: metadata[key] for key in sorted(metadata)}
    for _, name, code, data in entries:
        end = offset + data.nbytes
        header[name] = {"dtype": code, "shape": list(data.shape), "data_offsets": [offset, end]}
        offset = end
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    file.write(len(text).to_bytes(8, "little"))
    file.write(text)
    for *_, data in entries:
        # NumPy's stubs make ndarray a Buffer only on Python 3.12+.
        file.write(data.reshape(-1).view(np.uint8))  # type: ignore[call-overload]


# --- reading ------------------------------------------------------------------------------


class Contents:
    """An open container file of a checked format: its metadata, JSON entries and tensors.

    Tensors are read when asked for (``tensor``), so a reader can check names and shapes
    (``names``, ``shape``) before it reads a byte of data.
    """

    def __init__(self, path: str, kind: Format, file: Any, metadata: dict[str, str]) -> None:
        self.path = path
        self.format = kind
        self.metadata = metadata
        self._file = file

    def entry(self, key: str, default: str | None = None) -> Any:
        """The metadata entry ``key`` parsed as JSON (``default``'s text when it is absent).

        Raises ValueError, naming the file, when the entry is missing or is not valid JSON.
        """
        text = self.metadata.get(key, default)
        if text is None:
            raise ValueError(f"{self.path}: {self.format.no_entry.format(key=key)}")
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as error:
            message = self.format.bad_entry.format(key=key, error=error)
            raise ValueError(f"{self.path}: {message}") from None

    def names(self) -> set[str]:
        """The names of the tensors in the file."""
        return set(self._file.keys())

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of tensor ``name``, without reading its data."""
        return tuple(self._file.get_slice(name).get_shape())

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a NumPy array."""
        return self._file.get_tensor(name)

    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor by name."""
        return {name: self._file.get_tensor(name) for name in self._file.keys()}  # noqa: SIM118


@contextlib.contextmanager
def read(path: PathLike, kind: Format) -> Iterator[Contents]:
    """Open ``path``, check that it is a ``kind`` file of a version this backprop reads, yield it.

    Raises FileNotFoundError ("PATH: no such <noun>") when nothing is there and ValueError,
    starting with the path, for anything else: not a readable regular file, not safetensors,
    truncated, another ``"format"``, a version not in ``kind.reads``. safetensors' and OS
    errors raised while the caller reads inside the ``with`` block become the same
    ValueError, so a file that breaks half-way is still named.
    """
    name = os.fspath(path)
    check_readable_file(name, kind.noun)
    try:
        with safe_open(name, framework="np") as file:
            metadata = file.metadata() or {}
            _check_format(name, kind, metadata)
            yield Contents(name, kind, file, metadata)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such {kind.noun}") from None
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{name}: not a readable {kind.unreadable} ({error})") from error


def _check_format(name: str, kind: Format, metadata: Mapping[str, str]) -> None:
    found = metadata.get("format")
    if found != kind.name:
        other = FORMATS.get(found) if isinstance(found, str) else None
        what = other.title if other is not None else "a safetensors file"
        raise ValueError(f"{name}: {kind.foreign.format(kind=what)}")
    version = metadata.get("format_version")
    if version not in kind.reads:
        reads = ", ".join(kind.reads)
        message = kind.unknown_version.format(found=version, reads=reads, backprop=__version__)
        raise ValueError(f"{name}: {message}")
