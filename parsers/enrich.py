"""Program-specific readers of syslog messages, chosen by the program name (``auto`` uses this)."""

from __future__ import annotations

from typing import Any


def enrich_any(app: str | None, msg: str, fields: dict[str, Any]) -> str | None:
    """Dispatch a syslog message to the reader of its program; returns a level or None."""
    if not app:
        return None
    prog = app.split("(", 1)[0]
    if prog in ("sshd", "sudo", "su") or msg.startswith("pam_"):
        from parsers.auth import enrich

        return enrich(app, msg, fields)
    if prog.startswith("postfix"):
        from parsers.postfix import enrich as postfix_enrich

        return postfix_enrich(app, msg, fields)
    if prog == "kernel":
        from parsers.kernel import enrich_body

        return enrich_body(msg, fields)[1]
    if prog == "haproxy":
        from parsers.haproxy import haproxy_fields

        return haproxy_fields(msg, fields)
    return None
