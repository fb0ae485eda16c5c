"""The package's version, in one place: pyproject.toml reads it, ``bp.__version__`` quotes it."""

__version__ = "0.1.0"
