"""Versions of overlays from one complete rebuild to the next.

The overlay builders are pure: they return the complete current set with version 0.
:class:`OverlayCatalog` remembers the previous set and turns each new one into the
changes a client needs: overlays that are new or whose :meth:`Overlay.content`
changed (with their version increased) and ids that disappeared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ar_assets.overlay import Overlay
from geo.errors import InvalidParameter

__all__ = ["OverlayCatalog"]


class OverlayCatalog:
    """The current overlays by id, with versions that grow when content changes.

    Versions per id only ever increase, also across a removal: an overlay removed
    at version 3 and built again later comes back at version 4, so a client can
    never mistake it for the old one. Not thread-safe: one writer (the publisher)
    calls :meth:`update`.

    Examples
    --------
    >>> from ar_assets.overlay import Anchor, Overlay, OverlayKind
    >>> a = Overlay("tower:T1", OverlayKind.TOWER_MARKER, 0, Anchor(5.1, 52.1, 40.0), "/a.glb")
    >>> catalog = OverlayCatalog()
    >>> [(o.id, o.version) for o in catalog.update([a])[0]]
    [('tower:T1', 1)]
    >>> catalog.update([a])
    ([], [])
    >>> moved = dataclasses.replace(a, anchor=Anchor(5.1, 52.1, 41.0))
    >>> [(o.id, o.version) for o in catalog.update([moved])[0]]
    [('tower:T1', 2)]
    >>> catalog.update([])
    ([], ['tower:T1'])
    """

    def __init__(self) -> None:
        self._current: dict[str, Overlay] = {}
        self._last_version: dict[str, int] = {}

    def update(self, overlays: Iterable[Overlay]) -> tuple[list[Overlay], list[str]]:
        """Replace the current set with ``overlays``; return ``(upserts, removes)``.

        Parameters
        ----------
        overlays : iterable of Overlay
            The complete new set; their ``version`` is ignored (build them with 0).

        Returns
        -------
        upserts : list of Overlay
            New overlays (version 1, or one more than the id's last version) and
            overlays whose content changed (previous version + 1), in input order.
            Unchanged overlays keep their previous version and are not listed.
        removes : list of str
            Ids of the previous set that are not in the new one, sorted.

        Raises
        ------
        InvalidParameter
            If two overlays share an id (the current set is then left unchanged).
        """
        new: dict[str, Overlay] = {}
        upserts: list[Overlay] = []
        for overlay in overlays:
            if overlay.id in new:
                raise InvalidParameter("overlay ids must be unique in a set", "id")
            previous = self._current.get(overlay.id)
            if previous is not None and previous.content() == overlay.content():
                new[overlay.id] = previous
                continue
            version = self._last_version.get(overlay.id, 0) + 1
            new[overlay.id] = dataclasses.replace(overlay, version=version)
            upserts.append(new[overlay.id])
        removes = sorted(self._current.keys() - new.keys())
        self._current = new
        for overlay in upserts:
            self._last_version[overlay.id] = overlay.version
        return upserts, removes

    def get(self, overlay_id: str) -> Overlay | None:
        """The current overlay with this id, or None."""
        return self._current.get(overlay_id)

    def overlays(self) -> list[Overlay]:
        """The current overlays, sorted by id."""
        return [self._current[k] for k in sorted(self._current)]

    def __len__(self) -> int:
        return len(self._current)
