"""The checkpoint kinds of docs/torch.md's table, and how each loader fares.

``build(kind, path)`` writes one file of each kind with the real tools
(``torch.save``, ``torch.jit.save``; the legacy tar format by hand, as torch
2.13 cannot write it). ``outcomes(path)`` loads it with
``torch.load(weights_only=True)`` and the drop-in, and says "loads" or
"refuses: <why, in a few words>" for each. The hostile file's outcomes are
computed in a child process (see the table test), so this module is also run
as ``python torch_kinds.py PATH CANARY``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch_ckpt_helpers import p_call, p_global, p_str, pickle_of, tar_checkpoint
from torch_tar_fixture import members

import emulpickle

#: The loaders, as the table's columns name them.
LOADERS = (
    "`torch.load(f, weights_only=True)`",
    "`torch_load(f)`",
    '`torch_load(f, unknown="generic")`',
)


@dataclasses.dataclass
class TrainConfig:
    """A custom config class, as training scripts save them."""

    lr: float = 3e-4
    layers: int = 2


def _model() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))


def _state_dict() -> Any:
    return _model().state_dict()


def _optimizer_checkpoint() -> dict[str, Any]:
    import torch

    model = _model()
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": 1,
    }


def _save(obj: Callable[[], Any], **options: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import torch

        torch.save(obj(), path, **options)

    return write


def _torchscript(path: Path) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit in 2.13
        torch.jit.save(torch.jit.script(_model()), str(path))


def _tar(path: Path) -> None:
    path.write_bytes(tar_checkpoint(members()))


def malicious(path: Path, canary: Path) -> None:
    """A torch.save zip whose data.pkl calls ``os.system`` to touch ``canary``."""
    _save(_state_dict)(path)
    payload = pickle_of(p_call(p_global("os", "system"), p_str(f"touch {canary}")))
    with zipfile.ZipFile(path) as src:
        records = {info.filename: src.read(info) for info in src.infolist()}
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in records.items():
            dst.writestr(name, payload if name.endswith("/data.pkl") else data)


#: kind (the table's first column) -> writer. The hostile kind is MALICIOUS.
KINDS: dict[str, Callable[[Path], None]] = {
    "state dict (`torch.save(model.state_dict())`)": _save(_state_dict),
    "optimizer checkpoint (model, Adam, StepLR, epoch)": _save(_optimizer_checkpoint),
    "`pickle_protocol=4`": _save(_state_dict, pickle_protocol=4),
    "`pickle_protocol=5`": _save(_state_dict, pickle_protocol=5),
    "legacy format (`_use_new_zipfile_serialization=False`)": _save(
        _state_dict, _use_new_zipfile_serialization=False
    ),
    "legacy tar format (torch < 0.4)": _tar,
    "numpy array in a checkpoint": _save(lambda: {"mean": np.arange(3.0)}),
    "numpy scalar (`np.float64`)": _save(lambda: {"best": np.float64(0.25)}),
    "RNG states (`torch`, `numpy`, `random`)": _save(
        lambda: {
            "torch": __import__("torch").get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        }
    ),
    "`argparse.Namespace`": _save(lambda: {"args": argparse.Namespace(lr=0.1)}),
    "custom dataclass config": _save(lambda: {"config": TrainConfig()}),
    "whole `nn.Module` (`torch.save(model)`)": _save(_model),
    "TorchScript archive (`torch.jit.save`)": _torchscript,
}
MALICIOUS = "`os.system` in the pickle"


def torch_reason(error: BaseException) -> str:
    """torch's refusal in a few words."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"unsupported global `{found.group(1)}`"
    found = re.search(r"unsupported GLOBAL (\S+) whose module (\S+) is blocked", text)
    if found:
        return f"blocked global `{found.group(1)}`"
    found = re.search(r"Unsupported operand (\d+)", text)
    if found:
        return f'"Unsupported operand {found.group(1)}"'
    if "TorchScript" in text:
        return "TorchScript archive"
    if "legacy .tar format" in text:
        return "legacy .tar format needs `weights_only=False`"
    return type(error).__name__


def dropin_reason(error: BaseException) -> str:
    """The drop-in's refusal: the error class, and the global it names."""
    name = f"`{type(error).__name__}`"
    module, attr = getattr(error, "module", None), getattr(error, "name", None)
    if isinstance(module, str) and isinstance(attr, str):
        return f"{name} `{module}.{attr}`"
    return name


def attempt(load: Callable[[], Any], reason: Callable[[BaseException], str]) -> str:
    try:
        result = load()
    except Exception as error:  # every refusal is an outcome to report
        return f"refuses: {reason(error)}"
    values = list(result.values()) if isinstance(result, dict) else [result]
    if any(isinstance(value, emulpickle.GenericObject) for value in values):
        return "loads (inert `GenericObject`)"  # unknown="generic": nothing ran
    return "loads"


def outcomes(path: Path) -> dict[str, str]:
    """Each loader's outcome on ``path``: "loads" or "refuses: ..."."""
    import emulpickle_torch as et
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            LOADERS[0]: attempt(
                lambda: torch.load(path, weights_only=True), torch_reason
            ),
            LOADERS[1]: attempt(lambda: et.torch_load(path), dropin_reason),
            LOADERS[2]: attempt(
                lambda: et.torch_load(path, unknown="generic"), dropin_reason
            ),
        }


def table(rows: dict[str, dict[str, str]]) -> str:
    """The markdown table of ``rows`` (kind -> loader -> outcome)."""
    lines = [
        "| file | " + " | ".join(LOADERS) + " |",
        "|---" * (len(LOADERS) + 1) + "|",
    ]
    for kind, row in rows.items():
        lines.append(f"| {kind} | " + " | ".join(row[name] for name in LOADERS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    # The child of the hostile row: write the file, load it every way, report.
    target, canary = Path(sys.argv[1]), Path(sys.argv[2])
    malicious(target, canary)
    print(json.dumps(outcomes(target)))
