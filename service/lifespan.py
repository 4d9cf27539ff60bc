"""Adding shutdown work to an app's lifespan from where a resource is installed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

__all__ = ["close_on_shutdown"]


def close_on_shutdown(app: FastAPI, aclose: Callable[[], Awaitable[None]]) -> None:
    """Run ``aclose()`` when ``app`` shuts down, after its existing lifespan's own exit."""
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as value:
            try:
                yield value
            finally:
                await aclose()

    app.router.lifespan_context = lifespan
