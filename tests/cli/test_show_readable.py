"""``emulpickle show`` that a person can read (issue #14).

Each test writes its file with the real tool (torch.save, torch.jit.save,
pickle.dump) and runs the command as a user does. Files that name dangerous
globals are only ever written here (pickle.dumps of a ``__reduce__``), never
loaded by pickle; ``show`` runs in a child process, and a canary file proves
that nothing ran.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from helpers.cli_runner import run

# ------------------------------------------------------------------ helpers


def _torch() -> Any:
    return pytest.importorskip("torch")


def _tree_lines(stdout: str) -> list[str]:
    """The tree part of ``show``'s output (before the tensor table)."""
    return stdout.split("\n\n")[0].splitlines()


def _table(stdout: str) -> list[str]:
    """The tensor table's rows (after its title, header and rule)."""
    parts = stdout.split("\n\n")
    assert len(parts) == 2, stdout
    return parts[1].splitlines()[3:]


def _tied_model(torch: Any) -> Any:
    """A small language model whose decoder weight is its embedding weight."""
    nn = torch.nn

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.decoder = nn.Linear(4, 10, bias=False)
            self.decoder.weight = self.embed.weight

    torch.manual_seed(0)
    return Tied()


def _storage_bytes(torch: Any, tensors: list[Any]) -> int:
    """What the storages of ``tensors`` hold, each storage once (torch's word)."""
    seen: dict[int, int] = {}
    for t in tensors:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


# --------------------------------------------------------------- long keys


def _long_named_transformer(torch: Any) -> Any:
    nn = torch.nn
    torch.manual_seed(0)
    layer = nn.Transformer(
        d_model=4,
        nhead=1,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dim_feedforward=4,
    )
    return nn.ModuleDict({"backbone_of_the_translation_model": layer})


def test_long_keys_keep_the_end_that_tells_them_apart(tmp_path: Path) -> None:
    torch = _torch()
    path = tmp_path / "model.pt"
    state = _long_named_transformer(torch).state_dict()
    torch.save(state, path)
    proc = run("show", "--max-items", "0", "--max-lines", "0", path)
    assert proc.returncode == 0, proc.stderr
    tree = _tree_lines(proc.stdout)
    keys = [line.split(": ")[0].strip() for line in tree[2:]]
    assert len(keys) == len(state)
    assert len(set(keys)) == len(keys), "two keys read the same"
    weight = "backbone_of_the_translation_model.decoder.layers.0.multihead_attn"
    assert any(k.endswith("in_proj_weight'") for k in keys)
    assert any(k.endswith("in_proj_bias'") for k in keys)
    # The tensor table lists every name whole (they fit its width).
    names = [row.split()[0] for row in _table(proc.stdout)]
    assert f"{weight}.in_proj_bias" in names
    assert f"{weight}.in_proj_weight" in names


def test_long_keys_lose_their_middle(tmp_path: Path) -> None:
    torch = _torch()
    stem = "encoder_" * 10
    path = tmp_path / "t.pt"
    torch.save({f"{stem}.weight": torch.ones(2), f"{stem}.bias": torch.ones(2)}, path)
    lines = _tree_lines(run("show", path).stdout)[2:]
    keys = [line.split(": ")[0].strip() for line in lines]
    assert keys[0].endswith(".weight'") and keys[1].endswith(".bias'")
    assert all("'...'" in key and len(key) <= 60 for key in keys)


def test_keys_differing_only_in_the_middle_are_shown_wider(tmp_path: Path) -> None:
    left, right = "a" * 50 + "LEFT" + "z" * 50, "a" * 50 + "RIGHT" + "z" * 50
    path = tmp_path / "d.pkl"
    path.write_bytes(pickle.dumps({left: 1, right: 2}))
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "LEFT" in lines[1]
    assert "RIGHT" in lines[2]


def test_long_tensor_names_lose_their_middle_in_the_table(tmp_path: Path) -> None:
    torch = _torch()
    prefix = "stage_" * 20
    path = tmp_path / "t.pt"
    torch.save(
        {f"{prefix}.weight": torch.ones(2), f"{prefix}.bias": torch.ones(2)}, path
    )
    proc = run("show", path)
    names = [row.split()[0] for row in _table(proc.stdout)]
    assert len(names) == 2
    assert names[0].endswith(".weight") and names[1].endswith(".bias")
    assert all("..." in name and len(name) <= 100 for name in names)


# ------------------------------------------------------------- line budget


def test_every_top_level_key_is_shown_before_deep_state(tmp_path: Path) -> None:
    torch = _torch()
    model = _long_named_transformer(torch)
    opt = torch.optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    path = tmp_path / "ckpt.pt"
    # The optimizer first: a depth-first walk spends the budget in it.
    torch.save(
        {
            "optimizer": opt.state_dict(),
            "model": model.state_dict(),
            "epoch": 3,
            "config": {"lr": 0.001},
        },
        path,
    )
    proc = run("show", "--max-lines", "40", "--no-tensors", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("... (output stopped at 40 lines")
    tree = lines[1:-1]
    assert len(tree) <= 40
    for key in ("'optimizer'", "'model'", "'epoch': 3", "'config'"):
        assert any(line.startswith(f"  {key}") for line in tree), key
    # The cut containers say how much was left out.
    assert any(re.fullmatch(r" +\.\.\. \(\d+ more\)", line) for line in tree)


# ------------------------------------------------------ --path, --filter


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    torch = _torch()
    model = _tied_model(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    return path


def test_path_accepts_dotted_keys_ints_and_indices(checkpoint: Path) -> None:
    proc = run("show", "--path", "model.decoder.weight", checkpoint)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == [
        "model.decoder.weight:",
        "Tensor float32 [10, 4] cpu (same as model.embed.weight)",
    ]
    proc = run("show", "--path", "optimizer.param_groups[0].lr", checkpoint)
    assert proc.stdout.splitlines() == ["optimizer.param_groups[0].lr:", "0.5"]
    proc = run("show", "--path", "optimizer.param_groups.0.momentum", checkpoint)
    assert proc.stdout.splitlines()[-1] == "0.9"
    proc = run("show", "--path", "optimizer.state.0", checkpoint)
    assert proc.returncode == 0, proc.stderr
    assert "'momentum_buffer': Tensor float32 [10, 4] cpu" in proc.stdout
    assert "optimizer.state.0.momentum_buffer" in proc.stdout  # the table


def test_path_prefers_the_longest_key(tmp_path: Path) -> None:
    path = tmp_path / "d.pkl"
    path.write_bytes(pickle.dumps({"a": {"b": "inner"}, "a.b": "whole"}))
    assert run("show", "--path", "a.b", path).stdout.splitlines()[-1] == "'whole'"


def test_path_into_a_pickled_module_uses_tensor_names(tmp_path: Path) -> None:
    torch = _torch()
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3)), path)
    proc = run("show", "--path", "0.weight", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].startswith("Parameter float32 [3, 2]")


def test_path_not_found(checkpoint: Path) -> None:
    proc = run("show", "--path", "model.nope", checkpoint)
    assert proc.returncode == 1
    assert proc.stderr.startswith("emulpickle: error: --path: nothing at 'nope'")
    assert "'embed.weight'" in proc.stderr


def test_filter_and_no_tensors(checkpoint: Path) -> None:
    proc = run("show", "--filter", "optimizer.*", checkpoint)
    assert proc.returncode == 0, proc.stderr
    rows = _table(proc.stdout)
    assert [r.split()[0] for r in rows] == ["optimizer.state.0.momentum_buffer"]
    assert "1 of 3 tensors match, 40 elements, 160 B" in proc.stdout
    proc = run("show", "--no-tensors", checkpoint)
    assert proc.returncode == 0, proc.stderr
    assert "\n\n" not in proc.stdout
    assert "'embed.weight': Tensor float32 [10, 4] cpu" in proc.stdout


# ---------------------------------------------------------- tied weights


def test_tied_weights_are_marked_and_counted_once(tmp_path: Path) -> None:
    torch = _torch()
    state = _tied_model(torch).state_dict()
    path = tmp_path / "tied.pt"
    torch.save(state, path)
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # a clean file: no warning
    assert "  'decoder.weight': Tensor float32 [10, 4] cpu (same as embed.weight)" in (
        proc.stdout.splitlines()
    )
    rows = _table(proc.stdout)
    assert rows[1].endswith("same as embed.weight")
    nbytes = _storage_bytes(torch, list(state.values()))
    assert nbytes == 160
    assert "2 tensors, 40 elements, 160 B (1 same as another" in proc.stdout
    data = json.loads(run("show", "--json", path).stdout)
    assert data["totals"]["nbytes"] == nbytes
    assert data["totals"]["tied"] == 1
    assert [t["same_as"] for t in data["tensors"]] == [None, "embed.weight"]
    assert data["tree"]["decoder.weight"]["shared"] == "same as embed.weight"


def test_views_of_one_storage_share_it(tmp_path: Path) -> None:
    torch = _torch()
    whole = torch.arange(100.0)
    saved = {"whole": whole, "part": whole[10:20], "t": whole.view(10, 10).t()}
    path = tmp_path / "views.pt"
    torch.save(saved, path)
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    rows = _table(proc.stdout)
    assert rows[1].endswith("shares storage with whole")
    assert rows[2].endswith("shares storage with whole")
    assert _storage_bytes(torch, list(saved.values())) == 400
    assert "3 tensors, 210 elements, 400 B (2 sharing a storage" in proc.stdout


# -------------------------------------------------------- dangerous files


class _Shell:
    """Pickles as a call of os.system (never unpickled here)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def test_dangerous_globals_get_a_warning(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": _Shell(f"touch {canary}"), "y": 1}))
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr  # show succeeded: see docs/cli.md
    assert not canary.exists()
    warning = proc.stderr.splitlines()
    assert len(warning) == 1
    assert warning[0].startswith(f"emulpickle: warning: {path}: NOT CLEAN")
    assert "'posix.system'" in warning[0] or "'os.system'" in warning[0]
    data = json.loads(run("show", "--json", path).stdout)
    assert data["scan"]["clean"] is False
    assert list(data["scan"]["dangerous"]) in (["posix.system"], ["os.system"])
    assert not canary.exists()


def test_warning_covers_a_pickle_show_does_not_load(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    path = tmp_path / "stacked.pkl"
    # A harmless first pickle; pickle.load of the second one would run.
    path.write_bytes(pickle.dumps({"ok": 1}) + pickle.dumps(_Shell(f"touch {canary}")))
    proc = run("show", path)
    assert proc.returncode == 0, proc.stderr
    assert "NOT CLEAN" in proc.stderr
    assert "'ok': 1" in proc.stdout
    assert not canary.exists()


def test_torchscript_scan_is_one_line(tmp_path: Path) -> None:
    torch = _torch()
    nn = torch.nn
    model = nn.Sequential(*(nn.Linear(3, 3) for _ in range(8)))
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(model), str(path))
    scan = run("scan", path)
    assert scan.returncode == 1  # its __torch__ classes: unknown (code to review)
    proc = run("show", path)
    assert proc.returncode == 2  # not loaded: it holds code
    lines = proc.stderr.splitlines()
    # No dangerous global (torch.jit._pickle's helpers are identity
    # functions), so no NOT CLEAN warning: one line, naming TorchScript.
    assert len(lines) == 1, proc.stderr
    assert "TorchScript" in lines[0] and "NOT CLEAN" not in lines[0]


# ------------------------------------------------------------ show --json


def test_json_holds_what_show_shows(tmp_path: Path) -> None:
    path = tmp_path / "records.pkl"
    records = [{"id": i, "name": f"n{i}"} for i in range(100_000)]
    path.write_bytes(pickle.dumps(records))
    proc = run("show", "--json", path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["tree"]) == 50
    assert data["tree"][0] == {"id": 0, "name": "n0"}
    assert data["cut"][0] == {"path": "(root)", "shown": 50, "len": 100_000}
    everything = json.loads(
        run("show", "--json", "--max-items", "0", "--max-lines", "0", path).stdout
    )
    assert everything["tree"] == records
    assert everything["cut"] == []
