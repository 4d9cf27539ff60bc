"""Limits at the edges of the service: connections, request heads and bodies, key rates.

``connections.py`` is a plain object (no sockets) deciding which connection may stay;
``http.py`` is the thin uvicorn protocol that asks it and enforces the header and
timeout limits; ``rate.py`` holds the per-key rate limits of writes and job submissions.
"""
