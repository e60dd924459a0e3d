"""``emulpickle convert``: a torch checkpoint's state dict to safetensors.

Needs emulpickle-torch and numpy, never torch. Tensors are written one at a
time, in chunks of at most :data:`CHUNK` bytes, so memory use stays flat.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from .load import TORCH_KINDS, CliError, sniff, zip_pickle_name
from .._render import bounded_repr
from ..formats.safetensors import Entry, write_file
from ..generic import GenericObject

__all__ = ["CHUNK", "SAFETENSORS_DTYPES", "convert"]

#: Most bytes materialised at once while writing a tensor.
CHUNK = 16 << 20
#: Show a progress bar (on a terminal) when the data is at least this big.
PROGRESS_MIN = 64 << 20

#: torch dtype name -> safetensors dtype name.
SAFETENSORS_DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
    "complex64": "C64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "float8_e8m0fnu": "F8_E8M0",
}

#: Keys tried, in order, for the state dict inside a training checkpoint.
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "module", "net")


def _is_tensor_map(obj: object, tensor_type: type) -> bool:
    return (
        isinstance(obj, dict)
        and len(obj) > 0
        and all(isinstance(v, tensor_type) for v in obj.values())
    )


def _step(obj: object, key: str) -> object:
    if isinstance(obj, GenericObject) and isinstance(obj.state, dict):
        obj = obj.state
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        if key.isdigit() and int(key) in obj:
            return obj[int(key)]
    elif isinstance(obj, (list, tuple)) and key.isdigit() and int(key) < len(obj):
        return obj[int(key)]
    raise KeyError(key)


def _follow(root: object, path: str) -> object:
    """``root`` at ``path``: keys separated by dots (a key may contain dots)."""
    obj = root
    rest = path
    while rest:
        try:
            return _step(obj, rest)  # the whole remainder is one key
        except KeyError:
            pass
        head, dot, rest = rest.partition(".")
        if not dot:
            rest = ""
        try:
            obj = _step(obj, head)
        except KeyError:
            raise CliError(f"--key {path!r}: no key {head!r} there", 1) from None
    return obj


def _name(key: object) -> str:
    """A module or parameter name; str() of anything else could be huge."""
    if not isinstance(key, str):
        raise CliError(f"tensor key {bounded_repr(key)} is not a string", 1)
    return key


def _module_state(root: GenericObject, tensor_type: type) -> dict[str, Any]:
    """The state dict of a pickled ``nn.Module`` (parameters and buffers)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, object]] = [("", root)]
    seen: set[int] = set()
    while stack:
        prefix, module = stack.pop()
        if not isinstance(module, GenericObject) or id(module) in seen:
            continue
        seen.add(id(module))
        state = module.state
        if not isinstance(state, dict):
            continue
        for group in ("_parameters", "_buffers"):
            values = state.get(group)
            if isinstance(values, dict):
                for name, value in values.items():
                    if isinstance(value, tensor_type):
                        out[f"{prefix}{_name(name)}"] = value
        children = state.get("_modules")
        if isinstance(children, dict):
            stack.extend(
                (f"{prefix}{_name(name)}.", child)
                for name, child in reversed(list(children.items()))
            )
    return out


def pick_state_dict(root: object, key: str | None, tensor_type: type) -> dict[str, Any]:
    """The mapping of name -> tensor to write."""
    if key is not None:
        obj = _follow(root, key)
        if isinstance(obj, GenericObject):
            obj = _module_state(obj, tensor_type)
        if not isinstance(obj, dict):
            raise CliError(f"--key {key!r} is a {type(obj).__name__}, not a dict", 1)
        tensors = {k: v for k, v in obj.items() if isinstance(v, tensor_type)}
        skipped = len(obj) - len(tensors)
        if skipped:
            print(
                f"emulpickle: warning: skipping {skipped} non-tensor entries",
                file=sys.stderr,
            )
        if not tensors:
            raise CliError(f"--key {key!r} holds no tensors", 1)
        return tensors
    if _is_tensor_map(root, tensor_type):
        return root  # type: ignore[return-value]
    if isinstance(root, GenericObject):
        found = _module_state(root, tensor_type)
        if found:
            return found
    if isinstance(root, dict):
        for name in _STATE_KEYS:
            value = root.get(name)
            if isinstance(value, GenericObject):
                value = _module_state(value, tensor_type)
            if _is_tensor_map(value, tensor_type):
                print(f"emulpickle: using the state dict at {name!r}", file=sys.stderr)
                return value  # type: ignore[return-value]
        candidates = [
            bounded_repr(k) for k, v in root.items() if _is_tensor_map(v, tensor_type)
        ]
        hint = f"; try --key with one of {', '.join(candidates)}" if candidates else ""
        raise CliError(f"no state dict (a dict of tensors) at the top level{hint}", 1)
    raise CliError(
        f"the checkpoint holds a {type(root).__name__}, not a state dict; "
        "use --key to pick one",
        1,
    )


def _chunks(tensor: Any) -> Callable[[], Iterator[Any]]:
    def generate() -> Iterator[Any]:
        try:
            yield from _tensor_chunks(tensor.numpy())
        finally:
            storage = getattr(tensor, "storage", None)
            if storage is not None and hasattr(storage, "release"):
                storage.release()

    return generate


def _tensor_chunks(array: Any) -> Iterator[Any]:
    """The C-order bytes of ``array``, at most ``CHUNK`` at a time."""
    import numpy as np

    if sys.byteorder == "big":  # pragma: no cover - safetensors is LE
        array = array.byteswap()
    if array.size == 0:
        return
    if array.flags.c_contiguous:
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, flat.size, CHUNK):
            yield flat[start : start + CHUNK].data
        return
    # A strided view: materialise a block of leading rows at a time.
    if array.ndim == 0:  # pragma: no cover - 0-d arrays are contiguous
        yield np.ascontiguousarray(array).view(np.uint8).data
        return
    row = max(1, array[0].nbytes)
    step = max(1, CHUNK // row)
    for start in range(0, array.shape[0], step):
        block = np.ascontiguousarray(array[start : start + step])
        yield block.reshape(-1).view(np.uint8).data


def _entries(state: dict[str, Any]) -> list[Entry]:
    from ..limits import Limits

    limit = Limits().max_emulator_alloc
    entries = []
    for name, tensor in state.items():
        name = _name(name)
        where = f"tensor {bounded_repr(name)}"
        if tensor.quantization is not None:
            raise CliError(f"{where} is quantized; safetensors cannot hold it", 1)
        if tensor.storage is None:
            raise CliError(
                f"{where} has no data (device {bounded_repr(tensor.device)})", 1
            )
        dtype = SAFETENSORS_DTYPES.get(tensor.dtype)
        if dtype is None:
            raise CliError(f"{where}: safetensors has no dtype for {tensor.dtype}", 1)
        if tensor.nbytes > max(tensor.storage.nbytes, limit):
            raise CliError(
                f"{where} would expand {tensor.storage.nbytes} stored bytes to "
                f"{tensor.nbytes}",
                1,
            )
        entries.append(Entry(name, dtype, tuple(tensor.shape), _chunks(tensor)))
    # Larger elements first keeps every tensor aligned to its element size.
    entries.sort(key=lambda e: (-_itemsize(e.dtype), e.name))
    return entries


def _itemsize(dtype: str) -> int:
    from ..formats.safetensors import DTYPE_SIZES

    return DTYPE_SIZES[dtype]


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    if total < PROGRESS_MIN or not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        yield None
        return
    try:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:
        yield None
        return
    from rich.console import Console

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("writing", total=total)
        yield lambda n: bar.advance(task, n)


def convert(
    source: str,
    target: str,
    *,
    key: str | None,
    metadata: dict[str, str],
    force: bool,
) -> str:
    """Convert; returns a one-line summary."""
    if os.path.exists(target) and not force:
        raise CliError(f"{target} exists; use --force to overwrite it")
    kind = sniff(source)
    if kind not in (*TORCH_KINDS, "pickle"):
        raise CliError(f"{source}: not a torch checkpoint ({kind})")
    try:
        import emulpickle_torch
    except ImportError:
        raise CliError("convert needs emulpickle-torch (and numpy) installed") from None
    if kind == "torch-zip":
        zip_pickle_name(source)
    try:
        # Read each storage when it is written, then forget it (see _chunks):
        # with a memory map, every page read would stay in the RSS.
        root = emulpickle_torch.load(source, unknown="generic", mmap=False)
    except (
        emulpickle_torch.TorchFormatError,
        emulpickle_torch.TorchScriptArchiveError,
    ) as exc:
        raise CliError(f"{source}: {exc}") from None
    state = pick_state_dict(root, key, emulpickle_torch.Tensor)
    entries = _entries(state)
    meta = {"format": "pt", **metadata}
    total = sum(entry.nbytes for entry in entries)
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(
        prefix=".emulpickle-", suffix=".safetensors.tmp", dir=directory
    )
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out, _progress(total) as progress:
            size = write_file(out, entries, meta, progress)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return f"wrote {len(entries)} tensors ({size} bytes) to {target}"
