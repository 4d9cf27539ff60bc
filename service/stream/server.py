"""A uvicorn server that closes stream sockets with 1001 before uvicorn shuts down.

uvicorn closes open WebSockets itself (code 1012, service restart) *before* the
application's lifespan shutdown runs, so a lifespan hook comes too late to say
"going away". :class:`StreamServer` runs :meth:`StreamRuntime.aclose` first.
"""

from __future__ import annotations

import socket

import uvicorn

from service.stream.runtime import StreamRuntime

__all__ = ["StreamServer"]


class StreamServer(uvicorn.Server):
    """``uvicorn.Server`` whose shutdown first closes the overlay stream with 1001."""

    def __init__(self, config: uvicorn.Config, runtime: StreamRuntime | None) -> None:
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the stream's sockets (1001), then shut down as uvicorn does."""
        if self.runtime is not None:
            await self.runtime.aclose()
        await super().shutdown(sockets)
