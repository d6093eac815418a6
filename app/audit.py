"""The audit trail: one AuditEvent per change, added to the caller's transaction."""
from __future__ import annotations

from app.audit_labels import ACTION_LABELS
from app.extensions import db
from app.models import AuditEvent, User


def record(actor: User | None, action: str, obj: object, region_id: int | None = None,
           **details: int | str | bool | None) -> AuditEvent:
    """Note that actor did action to obj; details are codes and ids, never free text."""
    if action not in ACTION_LABELS:
        raise ValueError(f"audit action {action!r} has no label in app/audit_labels.py")
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        region_id=region_id,
        action=action,
        object_type=type(obj).__tablename__,
        object_id=getattr(obj, "id", None),
        details=details,
    )
    db.session.add(event)
    return event
