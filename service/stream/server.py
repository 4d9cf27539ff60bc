"""A uvicorn server that closes stream sockets with 1001 before uvicorn shuts down.

uvicorn closes open WebSockets itself (code 1012, service restart) *before* the
application's lifespan shutdown runs, so a lifespan hook comes too late to say
"going away". :class:`StreamServer` runs :meth:`StreamRuntime.aclose` first. It also
serves WebSockets with :class:`~service.stream.frames.FramesProtocol` (uvicorn's
default sans-I/O protocol plus direct frame writes for the fan-out) unless another
implementation is asked for.
"""

from __future__ import annotations

import socket

import uvicorn

from service.stream.frames import FramesProtocol
from service.stream.runtime import StreamRuntime

__all__ = ["StreamServer"]


class StreamServer(uvicorn.Server):
    """``uvicorn.Server`` whose shutdown first closes the overlay stream with 1001."""

    def __init__(self, config: uvicorn.Config, runtime: StreamRuntime | None) -> None:
        if config.ws in ("auto", "websockets-sansio"):  # the same protocol, plus direct frames
            config.ws = FramesProtocol
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the stream's sockets (1001), then shut down as uvicorn does."""
        if self.runtime is not None:
            await self.runtime.aclose()
        await super().shutdown(sockets)
