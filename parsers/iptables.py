"""Netfilter LOG target lines (iptables, ip6tables, UFW ``[UFW BLOCK]``, firewalld, EdgeRouter
``[RULE-A]``), read from the kernel log in any of the forms :mod:`parsers.kernel` knows.

Fields keep the kernel's keys: ``IN``, ``OUT``, ``MAC``, ``SRC``, ``DST``, ``LEN``, ``TOS``,
``TTL``, ``ID``, ``PROTO``, ``SPT``, ``DPT``, ``WINDOW``...; numeric ones are integers, bare
flags (``DF``, ``SYN``, ``ACK``...) go into ``flags``; the text before ``IN=`` is ``prefix`` and a
UFW prefix also gives ``action`` (BLOCK, ALLOW, AUDIT...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.kernel import KernelParser

_TOKEN = re.compile(r"([A-Z][A-Z0-9_]*)=(\S*)|(\S+)")
_UFW = re.compile(r"\[UFW ([A-Z ]+)\]")
_INTS = frozenset(
    {
        "LEN",
        "TTL",
        "ID",
        "SPT",
        "DPT",
        "WINDOW",
        "URGP",
        "TYPE",
        "CODE",
        "SEQ",
        "HOPLIMIT",
        "FLOWLBL",
        "TC",
        "MARK",
        "UID",
        "GID",
    }
)


def netfilter_fields(msg: str, fields: dict[str, Any]) -> str | None:
    """Read ``prefix IN=.. OUT=.. ...`` into ``fields``; returns the level (``warning`` for a
    block/drop/reject prefix, else ``info``)."""
    start = msg.find("IN=")
    prefix = msg[:start].strip()
    if prefix:
        fields["prefix"] = prefix
        u = _UFW.search(prefix)
        if u is not None:
            fields["action"] = u.group(1).strip()
    flags = []
    for key, value, bare in _TOKEN.findall(msg, start):
        if bare:
            flags.append(bare)
        elif key in fields:
            # ICMP errors quote the offending packet: keep the outer header's values.
            continue
        elif key in _INTS and value.isdigit():
            fields[key] = int(value)
        else:
            fields[key] = value
    if flags:
        fields["flags"] = flags
    up = prefix.upper()
    if any(w in up for w in ("BLOCK", "DROP", "REJECT", "DENY", "-D]", "-R]")):
        return "warning"
    return "info"


class IptablesParser(LineParser):
    name = "iptables"
    description = (
        "Netfilter LOG lines (iptables/ip6tables, UFW, firewalld): IN, OUT, SRC, DST, PROTO, SPT, DPT..."
    )
    expected = "netfilter (iptables) kernel log"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.kernel = KernelParser(now=now, tz=tz)

    def match(self, line: str) -> Record | None:
        rec = self.kernel.match(line)
        if rec is None:
            return None
        if "IN" not in rec.fields:
            # A syslog line of another program (e.g. a firewall daemon) or a non-netfilter kernel line.
            if "IN=" in line and "OUT=" in line:
                netfilter_fields(rec.message or line, rec.fields)
        return rec
