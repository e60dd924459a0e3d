"""Turn a loaded object tree into JSON-ready builtins.

:func:`to_builtins` returns only ``dict`` (with ``str`` keys), ``list``,
``str``, ``int``, ``float``, ``bool`` and ``None``, so ``json.dumps`` always
accepts the result. It never recurses (any depth works) and each object is
converted once: an object reached more than once (a shared subtree or a
cycle) is written in full at its first occurrence, with an ``"$id"``, and
every later occurrence is ``{"$ref": id}``.

Output shape (keys starting with ``$`` are reserved for the encoding):

* ``None``, ``bool``, ``int``, ``str``, finite ``float``: as they are. A
  ``str`` or ``int`` subclass becomes the plain value.
* ``float`` inf / nan: ``{"$type": "float", "value": "inf" | "-inf" | "nan"}``.
* ``int`` too long for ``str()`` (over 14,000 bits):
  ``{"$type": "int", "hex": "0x..."}``.
* ``list`` and ``tuple``: a JSON array.
* ``dict`` whose keys are all ``str`` not starting with ``$``: a JSON object.
  Any other ``dict``: ``{"$type": "dict", "items": [[key, value], ...]}``.
* ``set`` / ``frozenset``: ``{"$type": "set" | "frozenset", "items": [...]}``.
* ``bytes`` / ``bytearray``: ``{"$type": "bytes" | "bytearray", "base64": ...}``.
* ``complex``: ``{"$type": "complex", "real": ..., "imag": ...}``.
* date, time, datetime: ``{"$type": "datetime.date", "value": isoformat()}``
  (and so on); timedelta, ``Decimal``, ``Fraction``, ``UUID``, paths and
  IP addresses: ``{"$type": "decimal.Decimal", "value": str(x)}``. The
  ``$type`` of these is always the dotted ``module.qualname`` of the type.
* :class:`~emulpickle.GenericClass`, classes and functions:
  ``{"$type": "global", "name": "module.qualname"}``.
* :class:`~emulpickle.GenericAttribute`:
  ``{"$type": "attribute", "of": owner, "name": attr}``.
* :class:`~emulpickle.GenericObject`: ``{"$generic": "mod.Name", "args":
  [...], "kwargs": {...}, "state": ..., "items": [...], "dict_items": {...},
  "set_items": [...]}`` with only the non-empty parts (``state`` when it is
  not None). ``"$generic"`` is the class's dotted name, or the attribute
  encoding above when the object was made by calling an attribute.
* dataclass and attrs instances, ``SimpleNamespace`` and other objects with a
  ``__dict__``: ``{"$class": "module.qualname", field: value, ...}``; when the
  ``__dict__`` has keys that cannot be fields of a JSON object (not ``str``,
  or starting with ``$``) it is ``{"$class": ..., "$dict": <dict>}``.
* an object of a type with an encoder (:func:`register_encoder`): what
  the encoder gives. The plugins register these: torch tensors (dense,
  sparse, nested) and numpy arrays are ``{"$tensor": {"dtype": ...,
  "shape": [...], "device": ...}}`` as ``emulpickle json`` writes them (with
  ``"kind"`` when it is not a plain tensor: ``"Parameter"``, ``"quantized
  Tensor"``...), numpy scalars their Python value, torch dtypes and other
  torch globals ``{"$type": "global", "name": "torch.float32"}``, a
  ``torch.device`` ``{"$type": "torch.device", "value": "cuda:0"}`` and a
  storage ``{"$storage": {"key": ..., "nbytes": ..., "location": ...}}``.
* anything else: ``{"$type": "repr", "class": "module.qualname", "repr":
  emulpickle.bounded_repr(x)}`` (at most 1,000 characters: a numpy object
  array's own repr would render every item, however shared).

Sharing: lists, tuples, dicts, sets, ``bytes``/``bytearray`` and ``str`` of
64 or more characters/bytes, big ints, generic objects and class instances are
tracked by identity. One that occurs more than once carries ``"$id": n``
(numbered 1, 2, ... in reading order) where it is written out; a shared list
or tuple is then wrapped as ``{"$id": n, "$type": "list" | "tuple", "items":
[...]}`` and a shared long string as ``{"$id": n, "$type": "str", "value":
...}``. Values that are not shared keep the plain forms above.

Encoders (the extension point for plugins): ``register_encoder(cls,
encoder)`` makes ``to_builtins`` write ``encoder(x)`` in place of every
``x`` whose type is ``cls`` or a subclass (the nearest class in the MRO with
an encoder wins). Core never imports a plugin: a plugin registers its
encoders when it is imported. ``encoder(x)`` is called once per distinct
object and conversion; what it returns is converted like any value (so it
may hold objects of the tree, which keep their sharing), except that a
``dict`` it returns may use keys starting with ``$`` (its own tags, such
as ``"$tensor"``; not ``"$id"`` or ``"$ref"``) and is the object's entry:
reached again, the object is ``{"$ref": n}`` like any shared value. The
encoding is not encoded again: if it is itself of a type with an encoder,
the object is written in the ``repr`` form below. Encoders for the builtin
types above are refused, and one for a subclass of ``str``, ``int``,
``float``, ``bytes``, a date or time, or a value type written as text is
never asked (those are written as their value).

``max_depth`` bounds nesting: a container first met ``max_depth`` levels
below the root (the root is level 0) is written as ``{"$type": "truncated",
"class": "module.qualname"}``.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

from ._render import STR_VALUE_TYPE_NAMES, bounded_repr, has_type_named
from .emulators.records import is_attrs_class, record_fields
from .generic import GenericAttribute, GenericClass, GenericObject

__all__ = ["Encoder", "register_encoder", "to_builtins"]

#: Longest ``"repr"`` written for an object of another type.
_REPR_CHARS = 1000
#: ``str`` and ``bytes`` at least this long are tracked for sharing.
_SHARE_MIN_LEN = 64
#: ints with more bits than this are written in hex (``str()`` may refuse them).
_BIG_INT_BITS = 14_000

_GLOBAL_TYPES = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
)

# A pending conversion: (object, depth, container to write into, key there).
_Task = tuple[object, int, Any, Any]

#: ``encoder(obj) -> value``: what to write for ``obj`` (see :func:`register_encoder`).
Encoder = Callable[[Any], object]

#: Types whose instances ``to_builtins`` writes itself: no encoder for them.
_OWN_TYPES: frozenset[type] = frozenset(
    {
        object,
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        bytearray,
        list,
        tuple,
        dict,
        set,
        frozenset,
        GenericAttribute,
        GenericClass,
        *_GLOBAL_TYPES,
    }
)
# The exact types never looked up (a lookup per list or dict would cost).
_CONTAINERS = (list, tuple, dict, set, frozenset)

# Replaced, never changed in place, so that a conversion in another thread
# reads a consistent table; ``_found`` caches the lookup by concrete type.
_encoders: dict[type, Encoder] = {}
_found: dict[type, Encoder | None] = {}


def register_encoder(cls: type, encoder: Encoder) -> None:
    """Make :func:`to_builtins` write ``encoder(x)`` for objects of type ``cls``.

    For plugins, which call it when imported (the torch plugin for its
    tensors, storages, dtypes and devices; the numpy plugin for arrays,
    scalars and dtypes): core never imports them. Subclasses of ``cls`` use
    the encoder too unless they have their own; registering ``cls`` again
    replaces its encoder. See the module documentation for what an encoder
    may return.

    Raises:
        TypeError: ``cls`` is not a class.
        ValueError: ``cls`` is a type ``to_builtins`` writes itself
            (``object``, the builtin values and containers, generic globals).
    """
    global _encoders, _found
    if not isinstance(cls, type):
        raise TypeError(f"register_encoder needs a class, not {type(cls).__name__}")
    if cls in _OWN_TYPES:
        raise ValueError(f"to_builtins writes {_qualname(cls)} itself")
    _encoders = {**_encoders, cls: encoder}
    _found = {}


def _encoder_for(kind: type) -> Encoder | None:
    """The encoder for objects of exactly type ``kind``, if any."""
    try:
        return _found[kind]
    except KeyError:
        pass
    encoders = _encoders
    found: Encoder | None = None
    for base in getattr(kind, "__mro__", ()):
        found = encoders.get(base)
        if found is not None:
            break
    _found[kind] = found
    return found


class _Encoding(dict):  # type: ignore[type-arg]
    """A dict an encoder returned: its ``$`` keys are tags, not data.

    ``of`` is the type of the object it stands for (named if the entry is
    cut by ``max_depth``).
    """

    __slots__ = ("of",)

    def __init__(self, items: dict[Any, object], of: type) -> None:
        super().__init__(items)
        self.of = of


def to_builtins(obj: object, *, max_depth: int | None = None) -> object:
    """Convert a loaded object tree into JSON-ready builtins.

    See the module documentation for the output format. Cycles and shared
    subtrees are written once and referenced (``{"$ref": n}``) afterwards,
    so the work is linear in the number of distinct objects; any nesting
    depth works (no recursion).

    Args:
        obj: anything :func:`emulpickle.loads` returned (or any Python value).
        max_depth: containers nested this many levels below the root are
            replaced by ``{"$type": "truncated", ...}``; None means no limit.

    Returns:
        A structure made of dict (str keys), list, str, int, float, bool and
        None only.
    """
    if max_depth is not None and max_depth < 0:
        raise ValueError("max_depth must be >= 0 or None")
    # Pass 1 finds which objects are reached more than once; pass 2 writes
    # the result, giving exactly those objects an "$id". Both passes meet
    # objects in the same order, so the decisions agree.
    # Encodings are made once and used by both passes, so that what they
    # hold is the same objects in both (their ids are the sharing's keys).
    encodings: dict[int, tuple[object, object]] = {}
    counting = _Converter(max_depth, None, encodings)
    counting.run(obj)
    shared = {key for key, n in counting.counts.items() if n > 1}
    return _Converter(max_depth, shared, encodings).run(obj)


def _qualname(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


def _float(x: float) -> object:
    if math.isfinite(x):
        return float(x)
    return {"$type": "float", "value": "nan" if math.isnan(x) else repr(float(x))}


def _safe_keys(keys: Any) -> bool:
    return all(type(k) is str and not k.startswith("$") for k in keys)


class _Converter:
    def __init__(
        self,
        max_depth: int | None,
        shared: set[int] | None,
        encodings: dict[int, tuple[object, object]],
    ) -> None:
        self.max_depth = max_depth
        self.shared = shared  # None while counting
        # id(object) -> (object, what its encoder gave): see to_builtins.
        self.encodings = encodings
        self.counts: dict[int, int] = {}
        self.ids: dict[int, int] = {}
        self.alive: list[object] = []  # keeps ids of tracked objects unique
        self.stack: list[_Task] = []
        # Imported here, like base64 and dataclasses below, to keep
        # ``import emulpickle`` fast. datetime is a date subclass.
        import datetime

        self.iso_types = (datetime.date, datetime.time)

    def run(self, root: object) -> object:
        box: list[object] = [None]
        stack = self.stack
        stack.append((root, 0, box, 0))
        while stack:
            obj, depth, target, key = stack.pop()
            target[key] = self.convert(obj, depth)
        return box[0]

    # ------------------------------------------------------------ dispatch

    def convert(self, obj: object, depth: int) -> object:
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, str):
            value = str.__str__(obj)
            if len(value) < _SHARE_MIN_LEN:
                return value
        elif isinstance(obj, int):
            number = int(obj)
            if number.bit_length() <= _BIG_INT_BITS:
                return number
        elif isinstance(obj, float):
            return _float(obj)
        elif isinstance(obj, complex):
            return {
                "$type": "complex",
                "real": _float(obj.real),
                "imag": _float(obj.imag),
            }
        elif isinstance(obj, (bytes, bytearray)):
            if not obj and isinstance(obj, bytes):
                return {"$type": "bytes", "base64": ""}
        elif isinstance(obj, GenericAttribute):
            pass
        elif isinstance(obj, GenericClass):
            return {"$type": "global", "name": obj.qualname}
        elif isinstance(obj, _GLOBAL_TYPES):
            return self.global_name(obj)
        elif isinstance(obj, self.iso_types):
            return {"$type": _qualname(type(obj)), "value": obj.isoformat()}
        elif has_type_named(type(obj), STR_VALUE_TYPE_NAMES):
            try:
                return {"$type": _qualname(type(obj)), "value": str(obj)}
            except ValueError:  # a Fraction of ints too long for str()
                pass
        elif isinstance(obj, (tuple, frozenset)) and not obj:
            return [] if isinstance(obj, tuple) else {"$type": "frozenset", "items": []}
        elif type(obj) not in _CONTAINERS and _encoders:
            encoder = _encoder_for(type(obj))
            if encoder is not None:
                return self.encoded(obj, encoder, depth)
        return self.tracked(obj, depth)

    def encoded(self, obj: object, encoder: Encoder, depth: int) -> object:
        """What ``encoder`` gives for ``obj``, converted (see register_encoder)."""
        entry = self.encodings.get(id(obj))
        if entry is None:
            value = encoder(obj)
            if type(value) is dict:
                value = _Encoding(value, type(obj))
            entry = (obj, value)
            self.encodings[id(obj)] = entry
        value = entry[1]
        if type(value) is _Encoding:
            return self.tracked(value, depth)
        kind = type(value)
        if kind not in _OWN_TYPES and _encoder_for(kind) is not None:
            # Encoding the encoding could go on for ever (a scalar whose
            # value is a scalar again): the object is shown instead.
            return self.shown(obj)
        return self.convert(value, depth)

    @staticmethod
    def shown(obj: object) -> dict[str, object]:
        """The ``repr`` form, bounded: the object's own repr might render
        pickle data without limit (a numpy object array renders each item,
        however shared)."""
        text = bounded_repr(obj, max_chars=_REPR_CHARS)
        return {"$type": "repr", "class": _qualname(type(obj)), "repr": text}

    def global_name(self, obj: object) -> object:
        module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
        qualname = getattr(obj, "__qualname__", None)
        name = f"{module}.{qualname}" if qualname else str(module)
        return {"$type": "global", "name": name}

    def tracked(self, obj: object, depth: int) -> object:
        """Convert an object whose identity matters (it may be shared)."""
        key = id(obj)
        if self.shared is None:
            seen = self.counts.get(key)
            if seen is not None:
                self.counts[key] = seen + 1
                return None
        elif key in self.counts:
            return {"$ref": self.ids[key]}
        if (
            self.max_depth is not None
            and depth >= self.max_depth
            and not isinstance(obj, (str, int, bytes, bytearray))
        ):
            kind = obj.of if type(obj) is _Encoding else type(obj)
            return {"$type": "truncated", "class": _qualname(kind)}
        self.counts[key] = 1
        self.alive.append(obj)
        ident: int | None = None
        if self.shared is not None and key in self.shared:
            ident = len(self.ids) + 1
            self.ids[key] = ident
        return self.expand(obj, depth + 1, ident)

    # ----------------------------------------------------------- expansion

    def head(self, ident: int | None) -> dict[str, object]:
        return {} if ident is None else {"$id": ident}

    def schedule(self, tasks: list[_Task]) -> None:
        """Convert ``tasks`` next, in their order (the reading order)."""
        self.stack.extend(reversed(tasks))

    @staticmethod
    def array(items: Any, depth: int, tasks: list[_Task]) -> list[object]:
        if not isinstance(items, (list, tuple)):
            items = list(items)
        out: list[object] = [None] * len(items)
        tasks.extend((item, depth, out, i) for i, item in enumerate(items))
        return out

    @staticmethod
    def fill(
        out: dict[str, object],
        pairs: list[tuple[Any, Any]],
        depth: int,
        tasks: list[_Task],
    ) -> None:
        """Add str-keyed ``pairs`` to the JSON object ``out``."""
        for k, v in pairs:
            out[k] = None
            tasks.append((v, depth, out, k))

    @classmethod
    def mapping(
        cls, pairs: list[tuple[Any, Any]], depth: int, tasks: list[_Task]
    ) -> dict[str, object]:
        """A JSON object for safe str keys, else the ``$type: dict`` form."""
        out: dict[str, object] = {}
        if _safe_keys(k for k, _ in pairs):
            cls.fill(out, pairs, depth, tasks)
            return out
        items: list[object] = []
        for k, v in pairs:
            slot: list[object] = [None, None]
            items.append(slot)
            tasks.append((k, depth, slot, 0))
            tasks.append((v, depth, slot, 1))
        out["$type"] = "dict"
        out["items"] = items
        return out

    def expand(self, obj: object, depth: int, ident: int | None) -> object:
        tasks: list[_Task] = []
        result = self.expand_into(obj, depth, ident, tasks)
        self.schedule(tasks)
        return result

    def expand_into(
        self, obj: object, depth: int, ident: int | None, tasks: list[_Task]
    ) -> object:
        if type(obj) is _Encoding:
            pairs = list(obj.items())
            if not all(type(k) is str for k, _ in pairs):
                return {**self.head(ident), **self.mapping(pairs, depth, tasks)}
            result = self.head(ident)  # "$id" leads, then the encoder's keys
            self.fill(result, pairs, depth, tasks)
            return result
        if isinstance(obj, str):
            text = str.__str__(obj)
            if ident is None:
                return text
            return {"$id": ident, "$type": "str", "value": text}
        if isinstance(obj, int):
            return {**self.head(ident), "$type": "int", "hex": hex(obj)}
        if isinstance(obj, (bytes, bytearray)):
            import base64

            kind = "bytearray" if isinstance(obj, bytearray) else "bytes"
            encoded = base64.b64encode(obj).decode("ascii")
            return {**self.head(ident), "$type": kind, "base64": encoded}
        if isinstance(obj, (list, tuple)):
            out = self.array(obj, depth, tasks)
            if ident is None:
                return out
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {"$id": ident, "$type": kind, "items": out}
        if isinstance(obj, dict):
            pairs = list(obj.items())
            if _safe_keys(obj):
                result = self.head(ident)  # "$id" leads the object
                self.fill(result, pairs, depth, tasks)
                return result
            return {**self.head(ident), **self.mapping(pairs, depth, tasks)}
        if isinstance(obj, (set, frozenset)):
            kind = "frozenset" if isinstance(obj, frozenset) else "set"
            items = self.array(obj, depth, tasks)
            return {**self.head(ident), "$type": kind, "items": items}
        if isinstance(obj, GenericObject):
            return self.generic_object(obj, depth, ident, tasks)
        if isinstance(obj, GenericAttribute):
            result = {**self.head(ident), "$type": "attribute", "of": None}
            result["name"] = obj.attr
            tasks.append((obj.owner, depth, result, "of"))
            return result
        return self.instance(obj, depth, ident, tasks)

    def generic_object(
        self, obj: GenericObject, depth: int, ident: int | None, tasks: list[_Task]
    ) -> dict[str, object]:
        result = self.head(ident)
        cls = obj.cls
        if isinstance(cls, GenericAttribute):
            result["$generic"] = None
            tasks.append((cls, depth, result, "$generic"))
        else:
            result["$generic"] = cls.qualname
        if obj.args:
            result["args"] = self.array(obj.args, depth, tasks)
        if obj.kwargs:
            result["kwargs"] = self.mapping(list(obj.kwargs.items()), depth, tasks)
        if obj.state is not None:
            result["state"] = None
            tasks.append((obj.state, depth, result, "state"))
        if obj.list_items:
            result["items"] = self.array(obj.list_items, depth, tasks)
        if obj.dict_items:
            pairs = list(obj.dict_items.items())
            result["dict_items"] = self.mapping(pairs, depth, tasks)
        if obj.set_items:
            result["set_items"] = self.array(obj.set_items, depth, tasks)
        return result

    def instance(
        self, obj: object, depth: int, ident: int | None, tasks: list[_Task]
    ) -> object:
        """Dataclass, attrs, namespace and other objects; else a repr."""
        cls = type(obj)
        result = self.head(ident)
        names: list[str] | None = None
        import dataclasses

        if dataclasses.is_dataclass(obj):
            names = [f.name for f in dataclasses.fields(obj)]
        elif is_attrs_class(cls):
            names = list(record_fields(cls))
        if names is not None:
            result["$class"] = _qualname(cls)
            missing = object()
            pairs = [(n, getattr(obj, n, missing)) for n in names]
            present = [p for p in pairs if p[1] is not missing]
            self.fill(result, present, depth, tasks)
            return result
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            result["$class"] = _qualname(cls)
            if _safe_keys(attributes):
                self.fill(result, list(attributes.items()), depth, tasks)
            else:
                result["$dict"] = None
                tasks.append((attributes, depth, result, "$dict"))
            return result
        result.update(self.shown(obj))
        return result
