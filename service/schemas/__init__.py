"""Pydantic models of what crosses the HTTP boundary (``XIn`` in, ``XOut`` out)."""
