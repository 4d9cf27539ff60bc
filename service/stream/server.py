"""A uvicorn server that closes stream sockets with 1001 before uvicorn shuts down.

uvicorn closes open WebSockets itself (code 1012, service restart) *before* the
application's lifespan shutdown runs, so a lifespan hook comes too late to say
"going away". :class:`StreamServer` runs :meth:`StreamRuntime.aclose` first. It also
serves WebSockets with :class:`~service.stream.frames.FramesProtocol` (uvicorn's
default sans-I/O protocol plus direct frame writes for the fan-out) unless another
implementation is asked for.

With ``freeze_heap``, once the application has started, what it built so far (its
modules, the app, the demo data) is moved to the garbage collector's permanent
generation (:func:`gc.freeze`): a full collection then walks only what came after,
the connections. With 1,000 open streams, full collections of the whole heap
paused the event loop for 130-240 ms, which every client saw as a late delta.
"""

from __future__ import annotations

import gc
import socket

import uvicorn

from service.stream.frames import FramesProtocol
from service.stream.runtime import StreamRuntime

__all__ = ["StreamServer"]


class StreamServer(uvicorn.Server):
    """``uvicorn.Server`` whose shutdown first closes the overlay stream with 1001."""

    def __init__(
        self, config: uvicorn.Config, runtime: StreamRuntime | None, freeze_heap: bool = False
    ) -> None:
        if config.ws in ("auto", "websockets-sansio"):  # the same protocol, plus direct frames
            config.ws = FramesProtocol
        super().__init__(config)
        self.runtime = runtime
        self.freeze_heap = freeze_heap

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does; then freeze the start-up heap if asked to."""
        await super().startup(sockets)
        if self.freeze_heap and not self.should_exit:
            gc.collect()
            gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the stream's sockets (1001), then shut down as uvicorn does."""
        if self.runtime is not None:
            await self.runtime.aclose()
        await super().shutdown(sockets)
