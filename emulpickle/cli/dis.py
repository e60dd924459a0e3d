"""``emulpickle dis``: an annotated disassembly of a file's pickles.

For a torch zip checkpoint its ``data.pkl`` is listed, for a tar one its
``pickle`` member, for a legacy one its pickles in turn, for a ``.npy``
object array the pickle after the header. A malformed pickle is listed up
to the fault, then the error is reported with its offset (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import emulpickle
from emulpickle.disasm import Payload, disassemble, format_instruction
from emulpickle.formats import FormatError, tar

from .jsonwrite import dump
from .load import check_loadable, map_file, read_npy_header, read_zip_pickle, sniff
from .output import CliError, print_error

__all__ = ["run"]

#: A legacy torch file is this many pickles, then raw storage bytes.
_LEGACY_PICKLES = 5


def _source(path: str) -> tuple[Any, int, int]:
    """``(data, start, max pickles)`` to disassemble for ``path`` (0: all)."""
    kind = sniff(path)
    check_loadable(path, kind)
    if kind == "torch-zip":
        name, pickled = read_zip_pickle(path)
        print(f"# {name} in {path}")
        return pickled, 0, 1
    # An mmap slices like bytes; disassemble only indexes and slices.
    data = map_file(path)
    if kind == "torch-tar":
        try:
            member = tar.read_members(
                data, max_members=emulpickle.current_limits().max_archive_members
            ).get("pickle")
        except FormatError as exc:
            raise CliError(f"{path}: {exc}") from None
        if member is None:
            raise CliError(f"{path}: a tar archive without a 'pickle' member")
        print(f"# member 'pickle' of {path}")
        return data, member.offset, 1
    if kind == "npy":
        header = read_npy_header(path)
        if not header.has_objects:
            raise CliError(f"{path}: a .npy file of plain data holds no pickle")
        return data, header.data_offset, 1
    return data, 0, _LEGACY_PICKLES if kind == "torch-legacy" else 0


def _arg(arg: Any) -> object:
    """An instruction's argument for the JSON listing: a :class:`Payload` (an
    argument too long to read) as its type, size and first bytes."""
    if isinstance(arg, Payload):
        return {
            "$type": "payload",
            "type": arg.type,
            "size": arg.size,
            "head": emulpickle.to_builtins(arg.head),
        }
    return emulpickle.to_builtins(arg)


def _global_dict(ref: Any) -> dict[str, object] | None:
    if ref is None:
        return None
    return {
        "module": ref.module,
        "name": ref.name,
        "via": ref.via,
        "offset": ref.offset,
    }


def run(args: argparse.Namespace) -> int:
    """Run ``emulpickle dis`` (see :func:`emulpickle.cli.parser.build_parser`)."""
    data, start, limit = _source(args.file)
    pickles: list[dict[str, object]] = []
    error: dict[str, object] | None = None
    count = 0
    pos = start
    while True:
        count += 1
        instructions: list[dict[str, object]] = []
        pickles.append({"start": pos, "instructions": instructions})
        if not args.json and count > 1:
            print(f"# pickle {count}, at offset {pos}")
        end = pos
        try:
            for ins in disassemble(data, start=pos):
                if args.json:
                    instructions.append(
                        {
                            "offset": ins.offset,
                            "opcode": ins.opcode,
                            "arg": _arg(ins.arg),
                            "note": ins.note,
                            "global": _global_dict(ins.global_ref),
                        }
                    )
                else:
                    print(format_instruction(ins))
                end = ins.offset + 1
                if ins.opcode == "STOP":
                    break
        except emulpickle.UnpicklingError as exc:
            error = {"offset": getattr(exc, "offset", None), "message": str(exc)}
            break
        pos = end
        if pos >= len(data) or (limit and count >= limit) or data[pos] != 0x80:
            break
    trailing = len(data) - pos if error is None else 0
    if args.json:
        out = {
            "file": args.file,
            "pickles": pickles,
            "trailing_bytes": trailing,
            "error": error,
        }
        dump(out, sys.stdout, indent=1)
    elif trailing:
        print(f"# {trailing} bytes after the last STOP")
    if error is not None:
        print_error(f"{args.file}: {error['message']}")
        return 1
    return 0
