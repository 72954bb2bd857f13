"""Electronic signatures on the API's routes: check before the write, record with the row.

A route that must be signed calls `meaning(user, body.signature)` first (a missing signature
is a 422 naming ``signature``, a wrong password a 403 naming ``signature.password``; nothing
is written), then `record(...)` with the row it wrote, in the same transaction.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from neurocart.api.deps import auth_now
from neurocart.api.schemas import SignatureIn, SignatureOut
from neurocart.api.views import out
from neurocart.services import accounts
from neurocart.store import User


def given(signature: SignatureIn | None) -> accounts.SignatureIn | None:
    """The service's form of a signature from a request body."""
    if signature is None:
        return None
    return accounts.SignatureIn(signature.password, signature.meaning)


def meaning(user: User, signature: SignatureIn | None) -> str:
    """The meaning of `user`'s valid signature; raises accounts.SignatureError otherwise."""
    return accounts.check_signature(user, given(signature))


def record(
    session: Session,
    request: Request,
    user: User,
    meant: str,
    *,
    action: str,
    entity_type: str,
    entity_id: int,
) -> SignatureOut:
    """Store the signature for the row just written (audited, same transaction)."""
    row = accounts.record_signature(
        session, user, meant, action=action, entity_type=entity_type, entity_id=entity_id,
        now=auth_now(request),
    )  # fmt: skip
    return out(SignatureOut, row)
