"""Keyset pages of a query: rows strictly after a key, in a stable order, at most `limit`.

A list that grows with a patient's history (100,000 observations) cannot be answered in one
piece, and OFFSET pages cost more the further one reads and skip or repeat rows when rows
are added meanwhile. A keyset page instead starts strictly after the last row already seen:
``WHERE (k1, k2) > (:v1, :v2) ORDER BY k1, k2 LIMIT n``, which an index on the keys answers
in time independent of how far in the list the page is. The last key must be unique (the
row id), so the order is total and a page boundary never falls between equal rows.

The faces encode the key of a page's last row as an opaque cursor (`neurocart.api.pagination`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import QueryableAttribute

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
"""A select of any columns (one model, or a model and the columns joined to it)."""
Key = ColumnElement[Any] | QueryableAttribute[Any]
"""A sort key: a column of the model or an expression."""


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list to read: the rows strictly after the sort key `after` (the last
    row already seen; None for the first page), at most `limit` of them (None: all)."""

    after: tuple[Any, ...] | None = None
    limit: int | None = None


def keyset(
    query: S,
    keys: Sequence[Key],
    *,
    after: Sequence[Any] | None = None,
    limit: int | None = None,
    descending: bool = False,
) -> S:
    """`query` ordered by `keys` (all ascending, or all descending), keeping the rows strictly
    after the key values `after` in that order, at most `limit` of them.

    `after` is None for the first page; otherwise one value per key (the last row seen)."""
    if after is not None:
        if len(after) != len(keys):
            raise ValueError(f"a key of {len(keys)} values expected, got {len(after)}")
        left = tuple_(*keys)
        right = tuple_(*(literal(v, type_=k.type) for k, v in zip(keys, after, strict=True)))
        query = query.where(left < right if descending else left > right)
    query = query.order_by(*(k.desc() if descending else k for k in keys))
    if limit is not None:
        query = query.limit(limit)
    return query
