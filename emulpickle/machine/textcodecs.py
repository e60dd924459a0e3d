"""The text codecs and error handlers a pickle may name.

``bytes(s, encoding)``, ``str(b, encoding)``, ``bytearray(s, encoding)`` and
``_codecs.encode(s, encoding)`` run whatever codec the name finds. Some are
super-linear (``punycode`` encoding is quadratic: 40,000 distinct characters
take minutes; ``idna`` runs it per label), some inflate (``zlib_codec``,
``bz2_codec``: decompression bombs), and a codec or error handler an
application registered is real code the pickle would choose to run.

Only codecs implemented in C, linear in their input and producing output at
most a constant factor larger, are allowed: the UTF-8/16/32 families,
latin-1, ascii and the two unicode-escape codecs (decoding ``\\N{...}`` looks
each name up once). That covers what CPython's pickler emits (protocols 0-2
write ``bytes`` as ``_codecs.encode(text, "latin1")`` and ``bytearray`` as
``bytearray(text, "latin-1")``) and what Python 2 pickles need.

Names are normalized the way ``encodings.search_function`` does, without
looking the codec up: a lookup imports ``encodings.<name>``, a module the
pickle would choose.
"""

from __future__ import annotations

import encodings
from encodings.aliases import aliases as _ALIASES

from .._render import bounded_repr
from ..errors import EmulationError

__all__ = ["ALLOWED_CODECS", "ALLOWED_ERRORS", "error_handler", "text_codec"]

#: Codec module names (as in ``encodings``) that a pickle may use.
ALLOWED_CODECS = frozenset(
    {
        "utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be",
        "utf_32", "utf_32_le", "utf_32_be", "latin_1", "ascii",
        "raw_unicode_escape", "unicode_escape",
    }
)  # fmt: skip

#: The error handlers built into CPython: linear, and no application code.
ALLOWED_ERRORS = frozenset(
    {
        "strict", "ignore", "replace", "surrogateescape", "surrogatepass",
        "backslashreplace", "xmlcharrefreplace", "namereplace",
    }
)  # fmt: skip

# No codec name or alias is longer; longer names are refused unread.
_MAX_NAME = 40


def text_codec(what: str, encoding: object) -> str:
    """The allowed codec named ``encoding``, as its ``encodings`` module name.

    Callers pass the returned name, not the pickle's, to the real codec
    machinery, so the codec that runs is the one that was checked.

    Raises:
        EmulationError: ``encoding`` is not a str naming an allowed codec.
    """
    if type(encoding) is str and len(encoding) <= _MAX_NAME:
        # codecs.lookup lower-cases the name, search_function normalizes it.
        name = encodings.normalize_encoding(encoding.lower())
        canonical = _ALIASES.get(name) or _ALIASES.get(name.replace(".", "_")) or name
        if canonical in ALLOWED_CODECS:
            return canonical
    raise EmulationError(
        f"{what}: encoding {bounded_repr(encoding, max_chars=60)} is not allowed "
        "(only the utf-8/16/32, latin-1, ascii and unicode-escape codecs are "
        "emulated)"
    )


def error_handler(what: str, errors: object) -> str:
    """``errors`` if it names one of CPython's built-in error handlers.

    Raises:
        EmulationError: anything else (a handler an application registered
            is code the pickle must not choose to run).
    """
    if type(errors) is str and errors in ALLOWED_ERRORS:
        return errors
    raise EmulationError(
        f"{what}: error handler {bounded_repr(errors, max_chars=60)} is not allowed"
    )
