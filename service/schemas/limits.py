"""A cheap bound on the cost of parsing a JSON body, checked before the models parse it.

pydantic-core parses a whole body into its own tree before it validates, which costs
about 40 bytes of memory per byte of a long flat array (a 15 MB ``bbox`` array took
+578 MB), and validating a long array of wrong items used to report one error per
item (a 7 MB array of pairs as ``bbox``: 27 s and 1.8 GB). Two measures keep every
request within the cost of the largest valid one (10,000 observations, ~3 MB: about
a second and a hundred MB):

* every array in the request models has a ``max_length``, so a long array is one
  ``too_long`` error however long it is;
* :func:`check_value_counts` counts commas and opening brackets at C speed (a few
  milliseconds for 16 MiB) and refuses, unparsed, a body holding more values or more
  arrays and objects than any valid request needs. Commas and brackets inside strings
  count too, which only a body that is mostly brackets and commas can reach.
"""

from __future__ import annotations

__all__ = ["MAX_COMMAS", "MAX_CONTAINERS", "TooManyValues", "check_value_counts"]

#: 10,000 observations need about 16 commas and 5 arrays/objects each (measured on a
#: batch with every optional member); these allow several times as many.
MAX_COMMAS = 1_000_000
MAX_CONTAINERS = 250_000


class TooManyValues(ValueError):
    """The body holds more JSON values than any request may (refused unparsed)."""


def check_value_counts(
    body: bytes, max_commas: int = MAX_COMMAS, max_containers: int = MAX_CONTAINERS
) -> None:
    """Refuse a body with more commas or more ``[``/``{`` than any valid request has.

    Raises
    ------
    TooManyValues
        With the limit exceeded (never the body's content).
    """
    if body.count(b",") > max_commas:
        raise TooManyValues(f"holds more than {max_commas} values")
    if body.count(b"[") + body.count(b"{") > max_containers:
        raise TooManyValues(f"holds more than {max_containers} arrays and objects")
