"""The README's "Use it" commands run as written against a live demo server (issue 14,
finding 2), so the README cannot drift from the service.

The block is split into commands and run in one bash process (variables carry over),
with ``set -euo pipefail`` and ``curl`` failing on any 4xx/5xx answer. Only the
address is changed (``localhost:8000`` to the test server's port) and ``.venv/bin`` is
this interpreter's; the forecast budgets are small (environment variables) so that it
runs in a minute. Each command's output is checked against what the README says it
shows (``# -> {json}``: the same keys) and the observation example must change the
field at its tower.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT, LiveServer

pytestmark = pytest.mark.live
SMALL_BUDGETS = {
    "BLIGHTMAP_FORECAST_CALIBRATION_SIMULATIONS": "40",
    "BLIGHTMAP_FORECAST_SKILL_RUNS": "10",
    "BLIGHTMAP_FORECAST_SKILL_HORIZONS": "[1, 3]",
}
MARK = "@@readme-command "


def use_it_block(readme: str) -> str:
    """The first ``sh`` block of the README's "Use it" section."""
    section = readme.split("\n## Use it\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert found is not None, "the Use it section has a sh block"
    return found.group(1)


def split_commands(block: str) -> list[tuple[str, list[str]]]:
    """The block's commands, each with the ``# ->`` lines that follow it (what it shows).

    A command goes on over lines ending in a backslash and over lines inside quotes.
    """
    commands: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            if line.lstrip().startswith("# ->") and commands:
                commands[-1][1].append(line.split("# ->", 1)[1].strip())
            continue
        pending.append(line)
        text = "\n".join(pending)
        if text.endswith("\\"):
            continue
        try:
            shlex.split(text, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        commands.append((text, []))
        pending = []
    assert not pending, f"unterminated command: {pending}"
    return commands


def _script(commands: list[tuple[str, list[str]]], port: int) -> str:
    lines = [
        "set -euo pipefail",
        # any 4xx/5xx answer fails the run (with the problem body on stderr)
        'curl() { command curl --silent --show-error --fail-with-body "$@"; }',
    ]
    for i, (command, _) in enumerate(commands):
        command = command.replace("localhost:8000", f"127.0.0.1:{port}")
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        lines += [f"echo '{MARK}{i}'", command, "echo"]
    return "\n".join(lines) + "\n"


def _outputs(stdout: str, n: int) -> list[str]:
    parts = re.split(rf"^{MARK}(\d+)$", stdout, flags=re.MULTILINE)
    outputs = [""] * n
    for index, text in zip(parts[1::2], parts[2::2], strict=True):
        outputs[int(index)] = text.strip()
    return outputs


def _json_lines(text: str) -> list[object]:
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def _shape(value: object) -> object:
    """Keys of a JSON value, recursively (what the README promises, not the numbers)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__ if not isinstance(value, int | float) else "number"


def _tools(tmp_path: Path) -> Path:
    missing = [t for t in ("bash", "curl", "jq") if shutil.which(t) is None]
    if missing:
        reason = f"missing: {', '.join(missing)} (apt-get install {' '.join(missing)})"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("blightmap", "rio"):
        (bin_dir / tool).symlink_to(Path(sys.executable).parent / tool)
    return bin_dir


def test_the_use_it_block_splits_into_commands() -> None:
    commands = split_commands(use_it_block((ROOT / "README.md").read_text()))
    texts = [c for c, _ in commands]
    assert len(commands) >= 20
    assert any(t.startswith("ADMIN=$(") for t in texts)
    assert all(t.count("'") % 2 == 0 for t in texts), "quotes close within a command"
    assert any(shown for _, shown in commands), "some commands show their output"


def test_the_use_it_commands_run_against_the_demo(
    tmp_path: Path, live_server_factory: type[LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tools(tmp_path)
    for name, value in SMALL_BUDGETS.items():
        monkeypatch.setenv(name, value)
    server = live_server_factory(tmp_path / "data", "--demo")
    server.start(timeout_s=180)
    commands = split_commands(use_it_block((ROOT / "README.md").read_text()))
    env = {**os.environ, **SMALL_BUDGETS, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["bash", "-c", _script(commands, server.port)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    outputs = _outputs(done.stdout, len(commands))
    ran = sum(1 for o in outputs if o is not None)
    assert done.returncode == 0, (
        f"README command failed after {ran} commands:\n{done.stderr[-3000:]}\n{outputs[-3:]}"
    )
    for (command, shown), output in zip(commands, outputs, strict=True):
        expected = [json.loads(s) for s in shown if s.startswith("{")]
        if expected:
            got = _json_lines(output)
            assert got, f"{command[:80]}... printed no JSON line"
            assert _shape(got[-1]) == _shape(expected[-1]), command[:200]
    _assert_the_observation_changed_the_field(commands, outputs)
    assert (tmp_path / "blight.tif").stat().st_size > 10_000
    assert (tmp_path / "p.tif").stat().st_size > 10_000
    assert (tmp_path / "forecast-out" / "forecast.json").is_file()


def _assert_the_observation_changed_the_field(
    commands: list[tuple[str, list[str]]], outputs: list[str]
) -> None:
    """The tower's tiers, asked before and after the observation, show it."""
    asked = [i for i, (c, _) in enumerate(commands) if "/collections/towers/items/T-99" in c]
    posted = [i for i, (c, _) in enumerate(commands) if "-X POST localhost:8000/observations" in c]
    assert len(asked) >= 2 and posted and asked[0] < posted[0] < asked[1]
    before, after = (_json_lines(outputs[i])[-1] for i in asked[:2])
    assert isinstance(before, list) and isinstance(after, list)
    tier = re.search(r'"tier": (\d+)', commands[posted[0]][0])
    value = re.search(r'"intensity": ([\d.]+)', commands[posted[0]][0])
    assert tier is not None and value is not None
    level, intensity = int(tier.group(1)), float(value.group(1))
    (was,) = (t["intensity"] for t in before if t["level"] == level)
    (now,) = (t["intensity"] for t in after if t["level"] == level)
    assert abs(now - intensity) < 0.01 and abs(was - intensity) > 0.2, (was, now)
    answer = _json_lines(outputs[posted[0]])[-1]
    assert isinstance(answer, dict) and answer["new"] == 1
