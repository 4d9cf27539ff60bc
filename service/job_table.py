"""The bounded, owned job table that forecast and export jobs share.

Every job belongs to the key that submitted it (its id, never the key). A key sees,
and may dismiss, its own jobs; an admin sees every job; to anyone else a job does not
exist (404). A key may hold at most ``max_active_per_owner`` unfinished (queued or
running) jobs: one more is a 429. The table keeps at most ``max_jobs`` jobs; to make
room it drops the oldest *finished* job, whoever owns it, and never an unfinished one:
when every job is unfinished a new one is refused with 503.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from service.deps import Caller
from service.errors import ServiceBusy, TooManyRequests

__all__ = ["ACTIVE", "JobTable", "OwnedJob"]

ACTIVE = frozenset({"queued", "running"})
_RETRY_S = 10  # Retry-After of a refusal: about the time a short job takes


class OwnedJob(Protocol):
    """What the table needs of a job."""

    @property
    def id(self) -> str:
        """The job id."""

    @property
    def owner(self) -> str | None:
        """The key id of the submitter."""

    @property
    def status(self) -> str:
        """``queued``, ``running`` or a finished status."""


J = TypeVar("J", bound=OwnedJob)


class JobTable(Generic[J]):
    """Jobs by id, in submission order, with owners, a per-owner quota and a size bound.

    ``on_drop(job)`` is called for a finished job evicted to make room (to delete its
    files). The table itself does no I/O and is used from the event loop only.
    """

    def __init__(
        self,
        noun: str,
        max_jobs: int,
        max_active_per_owner: int,
        on_drop: Callable[[J], None] = lambda job: None,
    ) -> None:
        self._noun = noun
        self.max_jobs = max(1, max_jobs)
        self.max_active_per_owner = max(1, max_active_per_owner)
        self._on_drop = on_drop
        self._jobs: OrderedDict[str, J] = OrderedDict()

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[J]:
        return iter(list(self._jobs.values()))

    def get(self, job_id: str) -> J | None:
        """The job with this id, whoever owns it."""
        return self._jobs.get(job_id)

    def visible(self, job_id: str, caller: Caller) -> J | None:
        """The job if ``caller`` may see it (its owner, or an admin); else ``None``."""
        job = self._jobs.get(job_id)
        if job is None or not (caller.is_admin or job.owner == caller.key_id):
            return None
        return job

    def active(self, owner: str | None) -> int:
        """Unfinished jobs of ``owner``."""
        return sum(1 for j in self._jobs.values() if j.owner == owner and j.status in ACTIVE)

    def make_room(self, owner: str | None) -> None:
        """Check that ``owner`` may add a job and that there is (or can be) room for it.

        Raises
        ------
        TooManyRequests
            ``owner`` holds ``max_active_per_owner`` unfinished jobs (429).
        ServiceBusy
            The table is full of unfinished jobs (503).
        """
        if self.active(owner) >= self.max_active_per_owner:
            raise TooManyRequests(
                f"this key has {self.max_active_per_owner} unfinished {self._noun} jobs "
                "(the most it may have); wait for one to finish or dismiss one",
                _RETRY_S,
            )
        while len(self._jobs) >= self.max_jobs:
            oldest = next((j for j in self._jobs.values() if j.status not in ACTIVE), None)
            if oldest is None:
                raise ServiceBusy(
                    f"the service runs as many {self._noun} jobs as it may; try again later",
                    _RETRY_S,
                )
            del self._jobs[oldest.id]
            self._on_drop(oldest)

    def add(self, job: J) -> None:
        """Add ``job`` (after :meth:`make_room`)."""
        self._jobs[job.id] = job

    def remove(self, job_id: str) -> J | None:
        """Take the job out of the table (a dismissal)."""
        return self._jobs.pop(job_id, None)
