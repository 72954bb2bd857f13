"""Pages of a list route: `limit`, an opaque `cursor`, and the link to the next page.

Every route whose list grows with use (a patient's observations, assessments and events,
patients, alerts, audit entries, the read log) answers one page:

    GET /api/v1/patients/P-1/observations?code=8310-5&limit=100
    200  Link: </api/v1/patients/P-1/observations?code=8310-5&limit=100&cursor=WyIy...>; rel="next"
    {"items": [...100 observations...],
     "next": "/api/v1/patients/P-1/observations?code=8310-5&limit=100&cursor=WyIy..."}

`next` (and the RFC 8288 ``Link`` header) is the same request with the cursor of the page's
last row, so filters and the page size carry over; it is null, and the header absent, on the
last page. The cursor is the sort key of that row (e.g. its effective time and id) as
base64url JSON: opaque to clients, who only follow it; a cursor that does not decode to a
key of the right shape is a 422 naming `cursor`. Reading always starts strictly after the
key (`neurocart.store.pages.keyset`), so rows added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field

from neurocart.api.errors import ApiError
from neurocart.store.pages import Page as StorePage

DEFAULT_LIMIT = 100
"""Rows per page when the client does not say (a chart's worth; ~7 kB of observations)."""
MAX_LIMIT = 1000
"""The largest page a client may ask for: bounds a response's time and memory (~70 kB)."""
MAX_CURSOR_CHARS = 512

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class InvalidCursorError(ApiError):
    """422: a cursor this API did not make (edited, truncated, or from another list)."""

    status_code = 422


class PageOut(BaseModel, Generic[M]):
    """One page of a list, and where the next one is."""

    items: list[M]
    next: str | None = Field(
        description="the URL of the next page (same filters and limit); null on the last page"
    )


_KINDS: dict[type, str] = {datetime: "t", int: "i", str: "s"}


def encode_cursor(key: Sequence[Any]) -> str:
    """The opaque cursor of a sort key: base64url (unpadded) of a JSON list of tagged values."""
    values: list[list[Any]] = []
    for v in key:
        if isinstance(v, datetime):
            values.append(["t", v.isoformat()])
        elif isinstance(v, int) and not isinstance(v, bool):
            values.append(["i", v])
        elif isinstance(v, str):
            values.append(["s", v])
        else:  # a programming error: only these sort keys are used
            raise TypeError(f"no cursor for a key value of type {type(v).__name__}")
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, shape: Sequence[type]) -> tuple[Any, ...]:
    """The sort key of `cursor`, which must hold one value of each type of `shape`; anything
    else is InvalidCursorError naming `cursor` (never a 500, never a silently wrong page)."""
    return _typed(cursor, _values(cursor), shape)


def decode_tagged_cursor(cursor: str, shapes: Mapping[str, Sequence[type]]) -> tuple[Any, ...]:
    """The key of a cursor of a list read in several orders one after the other (e.g. a
    patient's record, table by table): its first value names which of `shapes` the rest
    has. The tag comes back as the key's first value; anything else is InvalidCursorError."""
    values = _values(cursor)
    if not values or not isinstance(values[0], list) or len(values[0]) != 2:
        raise _invalid(cursor)
    tag = values[0][1]
    if values[0][0] != "s" or not isinstance(tag, str) or tag not in shapes:
        raise _invalid(cursor)
    return (tag, *_typed(cursor, values[1:], shapes[tag]))


def _invalid(cursor: str) -> InvalidCursorError:
    return InvalidCursorError("cursor", "not a cursor of this list; follow `next`", cursor)


def _values(cursor: str) -> list[Any]:
    """The JSON list a cursor encodes (not yet checked against a shape)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid(cursor) from None
    if not isinstance(values, list):
        raise _invalid(cursor)
    return values


def _typed(cursor: str, values: list[Any], shape: Sequence[type]) -> tuple[Any, ...]:
    """The tagged `values` of `cursor` as a key of `shape`, or InvalidCursorError."""
    if len(values) != len(shape):
        raise _invalid(cursor)
    key: list[Any] = []
    for item, kind in zip(values, shape, strict=True):
        if not (isinstance(item, list) and len(item) == 2 and item[0] == _KINDS[kind]):
            raise _invalid(cursor)
        value = item[1]
        if kind is datetime:
            try:  # in UTC, as the store compares it (an instant beyond year 1–9999 there: refused)
                parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
                if parsed is not None and parsed.utcoffset() is not None:
                    parsed = parsed.astimezone(UTC)
            except (ValueError, OverflowError):
                parsed = None
            if parsed is None or parsed.utcoffset() is None:
                raise _invalid(cursor)
            key.append(parsed)
        elif kind is int:
            if type(value) is not int or not 0 <= value < 2**63:
                raise _invalid(cursor)
            key.append(value)
        else:
            if type(value) is not str or len(value) > 256:
                raise _invalid(cursor)
            key.append(value)
    return tuple(key)


@dataclass(frozen=True, slots=True)
class Paging:
    """A list request's page: its size and cursor, and the request the next link repeats."""

    request: Request
    response: Response
    limit: int
    cursor: str | None

    def page(self, shape: Sequence[type]) -> StorePage:
        """What to read from the store: after the cursor's key (of types `shape`), one row
        more than the page holds (telling whether there is a next page)."""
        after = None if self.cursor is None else decode_cursor(self.cursor, shape)
        return StorePage(after=after, limit=self.limit + 1)

    def out(
        self, rows: Sequence[T], key: Callable[[T], Sequence[Any]], convert: Callable[[T], M]
    ) -> PageOut[M]:
        """The page of `rows` (as read with `page()`), each converted, with the next link
        (body and ``Link`` header) when there are more."""
        shown = rows[: self.limit]
        link = None
        if len(rows) > self.limit:
            link = self._link(encode_cursor(key(shown[-1])))
            self.response.headers["Link"] = f'<{link}>; rel="next"'
        return PageOut[M](items=[convert(r) for r in shown], next=link)

    def _link(self, cursor: str) -> str:
        """This request's path and query with `cursor` replaced (filters and limit kept)."""
        params = [(k, v) for k, v in self.request.query_params.multi_items() if k != "cursor"]
        if not any(k == "limit" for k, _ in params):
            params.append(("limit", str(self.limit)))
        params.append(("cursor", cursor))
        return f"{self.request.url.path}?{urlencode(params)}"


def paging(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR_CHARS,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="from the previous page's `next`; omit for the first page",
        ),
    ] = None,
) -> Paging:
    """The `limit` and `cursor` query parameters of a list route (a dependency)."""
    return Paging(request, response, limit, cursor)


PagingDep = Annotated[Paging, Depends(paging)]
