"""Every exception a reader can raise on bad bytes, and a decorator that names the file.

A truncated gzip ends in ``EOFError``; corrupt deflate data in ``zlib.error``; a bad gzip header
in ``gzip.BadGzipFile`` (an ``OSError``); text in the wrong encoding in ``UnicodeDecodeError``;
broken CSV in ``csv.Error`` or pandas' ``ParserError``/``EmptyDataError`` (``ValueError``); a
short row in ``IndexError``; broken xz/zip/struct data in ``lzma.LZMAError``,
``zipfile.BadZipFile``, ``struct.error``. A reader decorated with :func:`names_file` turns
each of them into :class:`UnreadableFileError` (a ``ValueError``) whose message names the file,
so a caller's fallback (e.g. the daemon's forecast chain) catches one class and can say which
file to fix.
"""

from __future__ import annotations

import csv
import functools
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

BAD_BYTES_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, IndexError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, csv.Error,
    struct.error,
)
"""What reading a damaged or wrong file can raise (``UnicodeDecodeError``, pandas parser errors
and ``json.JSONDecodeError`` are ``ValueError``; ``gzip.BadGzipFile`` is an ``OSError``)."""
FALLBACK_ERRORS: tuple[type[BaseException], ...] = (KeyError, *BAD_BYTES_ERRORS)
"""What a forecast fallback catches from a provider: bad bytes, or a missing column/key."""

P = ParamSpec("P")
T = TypeVar("T")


class UnreadableFileError(ValueError):
    """A data file that cannot be read (damaged, truncated, wrong format); names the file."""


def names_file(reader: Callable[P, T]) -> Callable[P, T]:
    """Make ``reader(path, ...)`` raise :class:`UnreadableFileError` naming ``path`` for every
    error of :data:`BAD_BYTES_ERRORS` whose message does not name it already."""
    @functools.wraps(reader)
    def read(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return reader(*args, **kwargs)
        except BAD_BYTES_ERRORS as exc:
            path = str(args[0]) if args else str(next(iter(kwargs.values()), "?"))
            if path in str(exc) or type(exc).__module__.startswith("forecasts"):
                raise  # names the file already, or a project error with its own message
            raise UnreadableFileError(f"cannot read {path}: {type(exc).__name__}: {exc}; replace the file with a "
                                      "complete copy (or fix the setting that names it)") from exc
    return read
