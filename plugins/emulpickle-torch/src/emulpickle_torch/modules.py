"""``nn.Module`` objects of a whole-model save, read without torch.

``torch.save(model)`` pickles the module objects themselves. Loaded with
``unknown="generic"``, each module is an :class:`emulpickle.GenericObject`
whose BUILD state is the module's ``__dict__``: ``_parameters``,
``_buffers``, ``_non_persistent_buffers_set``, ``_modules`` and its plain
attributes (``in_features``, ``eps``...). This module reads that state the
way torch's own code would, without torch and without running anything the
file names:

```py
import emulpickle_torch
from emulpickle_torch import modules

model = emulpickle_torch.load("model.pt", unknown="generic")
weights = modules.state_dict(model)  # {"0.weight": Tensor, ...}
print(model)  # Sequential(\\n  (0): Linear(in_features=3, ...)\\n ...)
```

Importing the plugin teaches :func:`repr` of generic objects to show
modules as torch shows them (:func:`render_module`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from emulpickle import (
    GenericAttribute,
    GenericClass,
    GenericObject,
    UnpicklingError,
    bounded_repr,
)
from emulpickle import render_text as text

__all__ = [
    "MAX_STATE_DICT_WORK",
    "MODULE_STATE_KEYS",
    "ModuleStateError",
    "is_module",
    "render_module",
    "state_dict",
]

#: Keys of a pickled ``nn.Module``'s state that hold its parameters, buffers
#: and submodules: a tensor's name leaves them out (``fc._parameters.weight``
#: is ``fc.weight``, as in ``module.state_dict()``).
MODULE_STATE_KEYS = frozenset({"_parameters", "_buffers", "_modules"})

#: How much work :func:`state_dict` may do: each module visited and each
#: entry written costs 32 plus the length of its name. torch names a
#: submodule reached through two paths twice, so a pickle of a few hundred
#: bytes (forty levels of ``Sequential(m, m)``) would otherwise ask for 2**40
#: names; no real model comes near this (about two million entries).
MAX_STATE_DICT_WORK = 1 << 26
_STEP_COST = 32

#: Longest class name a module's repr shows.
_MAX_NAME_SHOWN = 100


class ModuleStateError(UnpicklingError, ValueError):
    """:func:`state_dict` cannot name a module's state as torch would.

    The module contains itself, a name is not a string, or the tree is too
    large (:data:`MAX_STATE_DICT_WORK`): the pickle is not a module torch
    wrote. An :class:`emulpickle.UnpicklingError` and a :class:`ValueError`.
    """


def _module_dict(obj: object) -> dict[object, object] | None:
    """The ``__dict__`` of a pickled module, or None if ``obj`` is not one."""
    if not isinstance(obj, GenericObject):
        return None
    state = obj.state
    if not isinstance(state, dict):
        return None
    for key in MODULE_STATE_KEYS:
        if not isinstance(state.get(key), dict):
            return None
    return state


def is_module(obj: object) -> bool:
    """Whether ``obj`` is a pickled ``nn.Module`` loaded as a generic object.

    That is a :class:`~emulpickle.GenericObject` whose state is a dict with
    dicts at ``_parameters``, ``_buffers`` and ``_modules`` (what every
    ``nn.Module.__init__`` sets), whatever its class is called.
    """
    return _module_dict(obj) is not None


def _name(key: object) -> str:
    if type(key) is not str:
        raise ModuleStateError(f"the name {bounded_repr(key)} is not a string")
    return key


def _own_entries(state: dict[object, object]) -> Iterator[tuple[str, object]]:
    """A module's own parameters and persistent buffers, in torch's order.

    As ``Module._save_to_state_dict``: parameters, then buffers, skipping
    None values and buffers named in ``_non_persistent_buffers_set``.
    """
    parameters = state["_parameters"]
    buffers = state["_buffers"]
    assert isinstance(parameters, dict) and isinstance(buffers, dict)
    for name, value in parameters.items():
        if value is not None:
            yield _name(name), value
    skipped = state.get("_non_persistent_buffers_set")
    if not isinstance(skipped, (set, frozenset)):
        skipped = frozenset()
    for name, value in buffers.items():
        if value is not None and name not in skipped:
            yield _name(name), value


def state_dict(module: GenericObject) -> dict[str, object]:
    """The state dict of a pickled ``nn.Module`` (loaded with ``unknown="generic"``).

    The names and their order are those of ``module.state_dict()``: each
    module's parameters, then its persistent buffers (a buffer registered
    with ``persistent=False`` is left out), then its submodules' entries
    with ``name.`` in front (``ModuleList`` items are ``0.``, ``1.``...).
    None parameters, buffers and submodules are skipped. A submodule reached
    through two paths (shared or tied) is named under both, as torch does.
    The values are the loaded tensors (usually
    :class:`emulpickle_torch.Tensor`), not copies.

    State dict hooks and ``get_extra_state`` are the module class's code,
    which is never run: entries they would add are not there.

    Raises:
        TypeError: ``module`` is not a pickled module (see :func:`is_module`).
        ModuleStateError: a module contains itself, a name is not a string,
            or naming everything would take more than
            :data:`MAX_STATE_DICT_WORK`.
    """
    if _module_dict(module) is None:
        raise TypeError(
            f"not a pickled nn.Module: {type(module).__name__} "
            "(load a whole-model save with unknown='generic')"
        )
    out: dict[str, object] = {}
    budget = MAX_STATE_DICT_WORK
    # Depth first, in torch's order. ``on_path`` holds the modules above the
    # one being visited: torch recurses, so a module inside itself never ends.
    stack: list[tuple[str, object, bool]] = [("", module, False)]
    on_path: set[int] = set()
    while stack:
        prefix, node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        state = _module_dict(node)
        if state is None:
            continue  # not a module (torch would fail on it): nothing to name
        if id(node) in on_path:
            where = bounded_repr(prefix[:-1] or "(root)")
            raise ModuleStateError(f"the module at {where} contains itself")
        budget -= _STEP_COST + len(prefix)
        for name, value in _own_entries(state):
            key = prefix + name
            budget -= _STEP_COST + len(key)
            if budget < 0:
                break
            out[key] = value
        if budget < 0:
            raise ModuleStateError(
                "the module tree is too large to name (submodules shared "
                f"through too many paths?); stopped after {len(out)} entries"
            )
        on_path.add(id(node))
        stack.append((prefix, node, True))
        children = state["_modules"]
        assert isinstance(children, dict)
        stack.extend(
            (f"{prefix}{_name(name)}.", child, False)
            for name, child in reversed(list(children.items()))
            if child is not None
        )
    return out


# ------------------------------------------------------------------ repr

#: Attribute values a module's repr shows (torch's ``extra_repr`` shows
#: plain settings such as ``in_features=3``; tensors and dicts it does not).
_SHOWN = (bool, int, float, str, tuple, list, type(None), GenericClass)


def _label(name: object) -> str:
    """A name the pickle chose, as text: itself when it is short and
    printable (torch's names are identifiers), else its bounded repr."""
    if type(name) is str and len(name) <= _MAX_NAME_SHOWN and name.isprintable():
        return name
    return bounded_repr(name, max_chars=_MAX_NAME_SHOWN)


def _class_name(obj: GenericObject) -> str:
    cls = obj.cls
    name = cls.attr if isinstance(cls, GenericAttribute) else cls.name
    return _label(name.rpartition(".")[2])


def _settings(state: dict[object, object]) -> Iterator[tuple[str, object]]:
    """The module's public plain attributes (``in_features``, ``eps``...)."""
    for key, value in state.items():
        if (
            type(key) is str
            and not key.startswith("_")
            and key != "training"
            and isinstance(value, _SHOWN)
        ):
            yield _label(key), value


def render_module(obj: GenericObject, part: Callable[[object], None]) -> bool:
    """Show a pickled module as torch's repr does; False if it is not one.

    ``Sequential(`` then one line ``(name): <child>`` per submodule, then
    ``)``; a module without submodules is one line,
    ``Linear(in_features=3, out_features=2)``: its class name and its public
    plain attributes (what torch's ``extra_repr`` mostly shows; it is class
    code, never run). This is the renderer the plugin adds to
    :func:`emulpickle.generic.register_repr`, so it runs under
    :func:`emulpickle.bounded_repr`'s budget: the output is bounded, a
    submodule shared or tied is shown once (later: ``<shared ...>``) and
    the tree is cut at the rendering's depth.
    """
    state = _module_dict(obj)
    if state is None:
        return False
    children = state["_modules"]
    assert isinstance(children, dict)
    nested = any(child is not None for child in children.values())
    part(text(_class_name(obj) + "("))
    # As torch: the settings inline, or on the first line of a block.
    lead = "\n  " if nested else ""
    for key, value in _settings(state):
        part(text(f"{lead}{key}="))
        if isinstance(value, GenericClass):
            # A global (``activation=F.relu``) reads as its name each time,
            # not as "<shared ...>" in the second layer of a stack.
            part(text(repr(value)))
        else:
            part(value)
        lead = ", "
    for name, child in children.items():
        if child is not None:
            part(text(f"\n  ({_label(name)}): "))
            part(child)
    part(text("\n)" if nested else ")"))
    return True
