"""The job table without a server: owners, the per-key quota, eviction of finished jobs only."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.auth import Role
from service.deps import Caller
from service.errors import ServiceBusy, TooManyRequests
from service.job_table import JobTable


@dataclass
class Job:
    id: str
    owner: str | None
    status: str = "queued"


def test_a_full_table_never_evicts_another_keys_unfinished_job() -> None:
    dropped: list[Job] = []
    table: JobTable[Job] = JobTable("export", 3, 5, dropped.append)
    a1, b1, a2 = Job("a1", "A"), Job("b1", "B"), Job("a2", "A")
    for job in (a1, b1, a2):
        table.make_room(job.owner)
        table.add(job)
    with pytest.raises(ServiceBusy) as refused:  # before: B's job was evicted (404)
        table.make_room("C")
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "10"}
    assert [j.id for j in table] == ["a1", "b1", "a2"]
    a2.status = "done"
    b1.status = "failed"
    table.make_room("C")  # the oldest finished job goes: B's failed one
    assert dropped == [b1] and table.get("b1") is None and table.get("a1") is a1


def test_the_quota_counts_unfinished_jobs_of_one_key() -> None:
    table: JobTable[Job] = JobTable("forecast", 100, 2)
    table.add(Job("1", "A", "running"))
    table.add(Job("2", "A", "queued"))
    table.add(Job("3", "A", "done"))
    with pytest.raises(TooManyRequests) as refused:
        table.make_room("A")
    assert refused.value.status == 429 and int(refused.value.headers["Retry-After"]) > 0
    table.make_room("B")  # another key is not affected
    table.get("1").status = "cancelled"  # type: ignore[union-attr]
    table.make_room("A")


def test_only_the_owner_and_admins_see_a_job() -> None:
    table: JobTable[Job] = JobTable("export", 10, 10)
    table.add(Job("j", "A"))
    assert table.visible("j", Caller("A", Role.PLANNER)) is not None
    assert table.visible("j", Caller("root", Role.ADMIN)) is not None
    assert table.visible("j", Caller("B", Role.PLANNER)) is None
    assert table.visible("j", Caller(None, None)) is None
    assert table.remove("j") is not None and table.get("j") is None
