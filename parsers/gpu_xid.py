"""NVIDIA GPU errors in the kernel log: ``NVRM: Xid (PCI:0000:9b:00): 119, pid=..., name=...,
text`` and NVSwitch ``SXid`` lines.

Fields: ``xid`` (or ``sxid``) as an integer, ``pci_bus``, ``pid``, ``process`` and ``xid_message``;
other kernel lines pass through as :mod:`parsers.kernel` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsers.base import LineParser, Record
from parsers.kernel import KernelParser

_XID = re.compile(
    r"(?:(?P<dev>[\w-]+): )?(?P<kind>S?Xid) \((?:PCI:)?(?P<pci>[0-9a-fA-F:.]+)\): (?P<code>\d+)"
    r"(?:, pid='?(?P<pid>[^,']*)'?)?(?:, name=(?P<name>[^,]*))?(?:, (?P<rest>.*))?",
    re.DOTALL,
)
# Xid codes that mean the GPU needs a reset or the node a drain (NVIDIA's Xid catalogue).
CRITICAL_XIDS = frozenset({48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 121, 140})


def xid_fields(msg: str, fields: dict[str, Any]) -> str | None:
    m = _XID.search(msg)
    if m is None:
        return None
    code = int(m.group("code"))
    if m.group("kind") == "SXid":
        fields["sxid"] = code
        if m.group("dev"):
            fields["device"] = m.group("dev")
    else:
        fields["xid"] = code
    fields["pci_bus"] = m.group("pci")
    pid = m.group("pid")
    if pid:
        fields["pid"] = int(pid) if pid.isdigit() else pid
    name = m.group("name")
    if name:
        fields["process"] = name
    if m.group("rest"):
        fields["xid_message"] = m.group("rest")
    return "critical" if code in CRITICAL_XIDS and m.group("kind") == "Xid" else "error"


class GpuXidParser(LineParser):
    name = "gpu_xid"
    description = (
        "NVIDIA Xid/SXid kernel lines: xid code, pci_bus, pid, process (other kernel lines pass through)."
    )
    expected = "kernel log"

    def __init__(self, now: Callable[[], float] | None = None, tz: str | None = None) -> None:
        self.kernel = KernelParser(now=now, tz=tz)

    def match(self, line: str) -> Record | None:
        rec = self.kernel.match(line)
        if rec is not None and "xid" not in rec.fields and "sxid" not in rec.fields and "Xid" in line:
            lvl = xid_fields(rec.message or line, rec.fields)
            rec.level = rec.level or lvl
        return rec
