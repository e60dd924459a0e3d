"""Scan a generated model hub with emulpickle and its peers, side by side.

The corpus is ``hub_corpus.py``'s (generated once into ``--corpus`` and
reused; ``--regen`` to write it again). Every scanner runs as its users run
it, a command on the whole tree, one after the other in this one run:

* ``emulpickle scan HUB --jsonl`` with ``--jobs 1`` and ``--jobs 2`` (cold:
  a fresh ``--cache-dir``), a warm re-scan with the same cache directory, and
  ``--dask ADDRESS`` on a ``distributed.LocalCluster`` of 1 and 2 worker
  processes (skipped without ``distributed``);
* ``picklescan -p HUB`` (its "dangerous import" lines);
* ``modelscan -p HUB -r json -o REPORT`` (every issue);
* ``modelaudit scan HUB --format json --output REPORT --no-cache`` (WARNING
  and CRITICAL issues, which make it exit 1), telemetry off.

A peer that is not installed is skipped (``--picklescan``, ``--modelscan``,
``--modelaudit`` name the executables, e.g. in their own virtualenvs). Each
report is parsed into the set of corpus files it flags and scored against
the ground truth: misses (hostile files not flagged) and false alarms
(benign files flagged). Prints a markdown table with files/s, MB/s and the
throughput ratio to picklescan, and emulpickle's 1 -> 2 worker speed-ups.
Run it from the repository root::

    python benchmarks/bench_hub.py [--corpus DIR] [--files 1000] [--big-mb 300]
    python benchmarks/bench_hub.py --small --corpus /tmp/hub-small
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hub_corpus import corpus_file, emulpickle_flags, generate, score

#: Seconds one scanner's run may take (``--timeout``): a tool that takes
#: longer is stopped and reported as timed out, with no score.
TIMEOUT = [4 * 3600.0]
TIMED_OUT = -9


@dataclass
class Run:
    """One scanner's run over the corpus and what its report flagged."""

    tool: str
    seconds: float
    flagged: set[str]
    review: set[str] = field(default_factory=set)
    exit_code: int = 0
    note: str = ""
    #: What a stricter reading of the same report flags (label -> files).
    variants: dict[str, set[str]] = field(default_factory=dict)


_PICKLESCAN_LINE = re.compile(r"^(.*): dangerous import '.*' FOUND$")


def _picklescan_flags(stdout: str, hub: Path, known: set[str]) -> set[str]:
    flagged: set[str] = set()
    for line in stdout.splitlines():
        match = _PICKLESCAN_LINE.match(line)
        if match and (name := corpus_file(match.group(1), hub, known)):
            flagged.add(name)
    return flagged


def _modelscan_flags(report: dict[str, Any], hub: Path, known: set[str]) -> set[str]:
    flagged: set[str] = set()
    for issue in report.get("issues", []):
        source = str(issue.get("source", ""))
        if name := corpus_file(source, hub, known):
            flagged.add(name)
    return flagged


_MODELAUDIT_FAILS = frozenset({"warning", "critical"})


def _modelaudit_flags(
    report: dict[str, Any],
    hub: Path,
    known: set[str],
    levels: frozenset[str] = _MODELAUDIT_FAILS,
) -> set[str]:
    flagged: set[str] = set()
    records = list(report.get("issues") or [])
    records += [c for c in report.get("checks") or [] if c.get("status") == "failed"]
    for record in records:
        if str(record.get("severity", "")).lower() not in levels:
            continue
        details = record.get("details") or {}
        for where in (record.get("location"), details.get("pickle_source")):
            if where and (name := corpus_file(str(where), hub, known)):
                flagged.add(name)
                break
    return flagged


def _timed(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT[0],
            env={**os.environ, **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TIMEOUT[0], subprocess.CompletedProcess(argv, TIMED_OUT, "", "")
    return time.perf_counter() - t0, done


def run_emulpickle(label: str, hub: Path, known: set[str], options: list[str]) -> Run:
    """``emulpickle scan HUB --jsonl OPTIONS`` as a command (its exit code is
    non-zero when something is flagged: that is not a failure here)."""
    argv = [sys.executable, "-m", "emulpickle", "scan", str(hub), "--jsonl", *options]
    seconds, done = _timed(argv)
    if done.returncode not in (0, 1, TIMED_OUT) or not (done.stdout or done.returncode):
        raise SystemExit(f"{label}: exit {done.returncode}\n{done.stderr[-2000:]}")
    flagged, review = emulpickle_flags(done.stdout, hub, known)
    return Run(label, seconds, flagged, review, done.returncode)


def run_picklescan(exe: str, hub: Path, known: set[str]) -> Run:
    """``picklescan -p HUB``: the CLI prints one line per dangerous global."""
    seconds, done = _timed([exe, "-p", str(hub)])
    flagged = _picklescan_flags(done.stdout + done.stderr, hub, known)
    return Run("picklescan", seconds, flagged, exit_code=done.returncode)


def run_modelscan(exe: str, hub: Path, known: set[str], tmp: Path) -> Run:
    """``modelscan -p HUB -r json -o REPORT``."""
    out = tmp / "modelscan.json"
    seconds, done = _timed([exe, "-p", str(hub), "-r", "json", "-o", str(out)])
    report = json.loads(out.read_text()) if out.exists() else {}
    note = "" if out.exists() else f"no report (exit {done.returncode})"
    return Run(
        "modelscan",
        seconds,
        _modelscan_flags(report, hub, known),
        exit_code=done.returncode,
        note=note,
    )


def run_modelaudit(exe: str, hub: Path, known: set[str], tmp: Path) -> Run:
    """``modelaudit scan HUB --format json --output REPORT --no-cache``, with
    its documented telemetry opt-out (this machine has no network: the
    telemetry's retries would be timed otherwise)."""
    out = tmp / "modelaudit.json"
    argv = [
        exe,
        "scan",
        str(hub),
        "--format",
        "json",
        "--output",
        str(out),
        "--no-cache",
    ]
    seconds, done = _timed(argv, {"PROMPTFOO_DISABLE_TELEMETRY": "1"})
    report = json.loads(out.read_text()) if out.exists() else {}
    note = "" if out.exists() else f"no report (exit {done.returncode})"
    return Run(
        "ModelAudit",
        seconds,
        _modelaudit_flags(report, hub, known),
        exit_code=done.returncode,
        variants={
            "CRITICAL only": _modelaudit_flags(
                report, hub, known, frozenset({"critical"})
            )
        },
        note=note,
    )


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[str]:
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded worker
    processes; yields the scheduler's address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def _executable(given: str | None, name: str) -> str | None:
    if given:
        return given if Path(given).exists() else None
    return shutil.which(name)


def table(runs: list[Run], manifest: dict[str, Any]) -> str:
    """The markdown table of the runs, scored against ``manifest``."""
    files, mb = manifest["files"], manifest["bytes"] / 1e6
    base = next((r.seconds for r in runs if r.tool == "picklescan"), None)
    head = "| tool | files | MB | time (s) | files/s | MB/s | misses | false alarms |"
    lines = [head + " vs picklescan |", "|---|" + "---:|" * 8]
    for r in runs:
        if r.exit_code == TIMED_OUT:
            lines.append(
                f"| {r.tool} | {files} | {mb:.0f} | > {r.seconds:.0f} |" + " - |" * 5
            )
            continue
        misses, false_alarms = score(manifest, r.flagged)
        ratio = f"{base / r.seconds:.1f}x" if base else "-"
        speed = f"{files / r.seconds:.0f} | {mb / r.seconds:.1f}"
        lines.append(
            f"| {r.tool} | {files} | {mb:.0f} | {r.seconds:.2f} | {speed}"
            f" | {len(misses)} | {len(false_alarms)} | {ratio} |"
        )
    return "\n".join(lines)


def details(runs: list[Run], manifest: dict[str, Any]) -> str:
    """Which files each tool missed or flagged wrongly, by kind."""
    kinds = {e["path"]: e["kind"] for e in manifest["entries"]}
    out = []
    for r in runs:
        misses, false_alarms = score(manifest, r.flagged)
        out.append(f"{r.tool}: exit {r.exit_code}{'; ' + r.note if r.note else ''}")
        for label, names in (("missed", misses), ("false alarm", false_alarms)):
            for name in names:
                out.append(f"  {label}: {name} ({kinds.get(name, '?')})")
        if r.review:
            out.append(f"  review (unknown globals only): {len(r.review)} files")
        for variant, flagged in r.variants.items():
            m, f = score(manifest, flagged)
            out.append(f"  {variant}: {len(m)} misses, {len(f)} false alarms")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(tempfile.gettempdir()) / "emulpickle-hub-corpus",
    )
    parser.add_argument("--regen", action="store_true", help="write the corpus again")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--picklescan")
    parser.add_argument("--modelscan")
    parser.add_argument("--modelaudit")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--no-emulpickle", action="store_true", help="peers only")
    parser.add_argument("--json-out", type=Path, help="write the runs here too")
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT[0], help="seconds per tool's run"
    )
    args = parser.parse_args(argv)
    TIMEOUT[0] = args.timeout

    manifest_path = args.corpus / "manifest.json"
    if args.regen or not manifest_path.exists():
        generate(args.corpus, args.files, args.big_mb, args.seed, args.small)
    manifest = json.loads(manifest_path.read_text())
    hub = (args.corpus / "hub").resolve()
    known = {e["path"] for e in manifest["entries"]}
    print(
        f"corpus: {manifest['files']} files, {manifest['bytes'] / 1e6:.1f} MB,"
        f" {len(manifest['hostile'])} hostile ({hub})",
        file=sys.stderr,
    )

    runs: list[Run] = []
    steps: list[tuple[str, Callable[[], Run]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp_name:
        tmp = Path(tmp_name)
        cold1, cold2 = tmp / "cache-1", tmp / "cache-2"
        steps += (
            []
            if args.no_emulpickle
            else [
                (
                    "emulpickle --jobs 1",
                    lambda: run_emulpickle(
                        "emulpickle --jobs 1",
                        hub,
                        known,
                        ["--jobs", "1", "--cache-dir", str(cold1)],
                    ),
                ),
                (
                    "emulpickle --jobs 2",
                    lambda: run_emulpickle(
                        "emulpickle --jobs 2",
                        hub,
                        known,
                        ["--jobs", "2", "--cache-dir", str(cold2)],
                    ),
                ),
                (
                    "emulpickle warm re-scan",
                    lambda: run_emulpickle(
                        "emulpickle --jobs 2, warm cache",
                        hub,
                        known,
                        ["--jobs", "2", "--cache-dir", str(cold2)],
                    ),
                ),
            ]
        )
        have_dask = not (args.no_dask or args.no_emulpickle) and _importable(
            "distributed"
        )
        if have_dask:
            for n in (1, 2):
                steps.append((f"dask {n}", _dask_step(n, hub, known)))
        if not args.no_peers:
            if exe := _executable(args.picklescan, "picklescan"):
                steps.append(
                    ("picklescan", lambda exe=exe: run_picklescan(exe, hub, known))
                )
            if exe := _executable(args.modelscan, "modelscan"):
                steps.append(
                    ("modelscan", lambda exe=exe: run_modelscan(exe, hub, known, tmp))
                )
            if exe := _executable(args.modelaudit, "modelaudit"):
                steps.append(
                    ("modelaudit", lambda exe=exe: run_modelaudit(exe, hub, known, tmp))
                )
        for label, step in steps:
            print(f"running {label}...", file=sys.stderr, flush=True)
            run = step()
            if run.exit_code == TIMED_OUT:
                run.note = f"timed out after {run.seconds:.0f} s"
            m, f = score(manifest, run.flagged)
            print(
                f"  {run.seconds:.2f} s, {len(m)} misses, {len(f)} false alarms",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run)

    machine = f"{platform.platform()}, {os.cpu_count()} CPUs"
    print(f"\nMachine: {machine}, Python {platform.python_version()}\n")
    print(table(runs, manifest))
    by_tool = {r.tool: r.seconds for r in runs}
    pairs = [
        ("local processes", "emulpickle --jobs 1", "emulpickle --jobs 2"),
        (
            "Dask LocalCluster",
            "emulpickle --dask, 1 worker",
            "emulpickle --dask, 2 workers",
        ),
    ]
    print()
    for label, one, two in pairs:
        if one in by_tool and two in by_tool:
            print(f"1 -> 2 workers ({label}): {by_tool[one] / by_tool[two]:.2f}x")
    if not (have_dask or args.no_dask or args.no_emulpickle):
        print("Dask: skipped (distributed is not installed)")
    print("\n" + details(runs, manifest))
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                [
                    {
                        "tool": r.tool,
                        "seconds": r.seconds,
                        "flagged": sorted(r.flagged),
                        "review": sorted(r.review),
                        "exit": r.exit_code,
                    }
                    for r in runs
                ],
                indent=1,
            )
        )
    return 0


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _dask_step(workers: int, hub: Path, known: set[str]) -> Callable[[], Run]:
    """Start a LocalCluster (not timed), then time ``emulpickle scan --dask``."""

    def step() -> Run:
        label = f"emulpickle --dask, {workers} worker{'s' if workers > 1 else ''}"
        with local_cluster(workers) as address:
            return run_emulpickle(label, hub, known, ["--dask", address, "--no-cache"])

    return step


if __name__ == "__main__":
    sys.exit(main())
