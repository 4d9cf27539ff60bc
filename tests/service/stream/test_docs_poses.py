"""The protocol docs agree with what the stream sends (issue 13 finding 6).

A client written from ``docs/ar-protocol.md`` alone reads the poses table and the
Unity formula; both are checked here against the code that builds the messages.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ar_assets.geopose import enu_to_eus, enu_to_unity_eun, pose_frame
from ar_assets.overlay import Anchor, Convention, Overlay, OverlayKind
from ar_assets.overlays import overlay_message

DOC = (Path(__file__).resolve().parents[3] / "docs" / "ar-protocol.md").read_text()


def _table_row(convention: Convention) -> list[str]:
    row = re.search(rf"^\| `{convention.value}` \|(.*)$", DOC, re.MULTILINE)
    assert row is not None, convention
    return [cell.strip() for cell in row.group(1).split("|")]


@pytest.mark.parametrize("convention", list(Convention))
def test_the_poses_table_matches_the_messages(convention: Convention) -> None:
    axes, height = _table_row(convention)[:2]
    item = Overlay("t", OverlayKind.TOWER_MARKER, 1, Anchor(5.1214, 52.0907, 47.0), "/a.glb")
    sent = overlay_message(item, convention)["pose_frame"]
    assert sent == pose_frame(convention)
    assert axes.startswith(f"`{sent['axes']}`") and height.startswith(f"`{sent['height']}`")
    if convention is Convention.ARKIT:  # ARKit's gravityAndHeading: x east, y up, z south
        assert sent["axes"] == "EUS" and "x east, y up, z south" in axes


def _doc_formula(comment_free_prefix: str) -> str:
    match = re.search(rf"{comment_free_prefix}new Quaternion\(([^)]*)\);", DOC)
    assert match is not None
    return match.group(1)


def _evaluate(formula: str, q: tuple[float, ...]) -> tuple[float, ...]:
    values = {"q.x": q[0], "q.y": q[1], "q.z": q[2], "q.w": q[3]}
    out = []
    for term in formula.split(","):
        term = term.strip()
        sign = -1.0 if term.startswith("-") else 1.0
        out.append(sign * values[term.lstrip("-")])
    return tuple(out)


@pytest.mark.parametrize("seed", range(3))
def test_the_unity_formulas_in_the_docs_match_the_code(seed: int) -> None:
    q = tuple(float(c) for c in Rotation.random(random_state=seed).as_quat())
    from_enu = _evaluate(_doc_formula(r"var eunRotation = "), q)
    np.testing.assert_allclose(np.sign(from_enu[3]) * np.array(from_enu), enu_to_unity_eun(q))
    eus = enu_to_eus(q)
    from_eus = _evaluate(_doc_formula(r"// var eunRotation = "), eus)
    np.testing.assert_allclose(np.sign(from_eus[3]) * np.array(from_eus), enu_to_unity_eun(q))
