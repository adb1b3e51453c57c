"""AWS load balancer access logs: Application Load Balancer (first field ``http``/``https``/
``h2``/``ws``/``wss``/``grpcs``) and Classic ELB (first field the time).

Fields keep AWS's names (``elb``, ``target``, ``elb_status_code``, ``target_status_code``,
``received_bytes``, ``sent_bytes``, ``trace_id``, ``domain_name``, ``actions_executed``...) and
add the nginx-style ones: ``remote_addr``, ``remote_port``, ``method``, ``path``, ``protocol``,
``status``, ``body_bytes_sent``, ``http_user_agent``, ``request_time`` (sum of the three
processing times; absent when AWS logs -1).
"""

from __future__ import annotations

import re
from typing import Any

from parsers.base import LineParser, Record
from parsers.nginx import status_level
from parsers.timestamps import parse_rfc3339

_TOKEN = re.compile(r'"([^"]*)"|([^\s"]+)')
_ALB_TYPES = frozenset({"http", "https", "h2", "ws", "wss", "grpcs"})
ALB_FIELDS = (
    "type",
    "time",
    "elb",
    "client",
    "target",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target_port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
)
ELB_FIELDS = (
    "time",
    "elb",
    "client",
    "backend",
    "request_processing_time",
    "backend_processing_time",
    "response_processing_time",
    "elb_status_code",
    "backend_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
)
_FLOATS = frozenset(
    {
        "request_processing_time",
        "target_processing_time",
        "backend_processing_time",
        "response_processing_time",
    }
)
_INTS = frozenset(
    {
        "elb_status_code",
        "target_status_code",
        "backend_status_code",
        "received_bytes",
        "sent_bytes",
        "matched_rule_priority",
    }
)


class AwsAlbParser(LineParser):
    name = "aws_alb"
    description = "AWS ALB and Classic ELB access logs (AWS field names plus nginx-style aliases)."
    expected = "AWS ALB/ELB access log"

    def match(self, line: str) -> Record | None:
        tokens = [q if q is not None and b == "" else b for q, b in _TOKEN.findall(line)]
        if len(tokens) < 12:
            return None
        names: tuple[str, ...]  # ALB and classic ELB logs have different field counts
        if tokens[0] in _ALB_TYPES:
            names = ALB_FIELDS
        elif tokens[0][:4].isdigit() and "T" in tokens[0]:
            names = ELB_FIELDS
        else:
            return None
        if len(tokens) < len(ELB_FIELDS) - 2:
            return None
        ts = parse_rfc3339(tokens[names.index("time")])
        if ts is None:
            return None
        fields: dict[str, Any] = {}
        for name, value in zip(names, tokens, strict=False):
            if name == "time":
                continue
            if name in _FLOATS:
                try:
                    fields[name] = float(value)
                except ValueError:
                    return None
            elif name in _INTS:
                if value.lstrip("-").isdigit():
                    fields[name] = int(value)
            else:
                fields[name] = value
        if len(tokens) > len(names):
            fields["extra"] = tokens[len(names) :]
        client = fields.get("client", "")
        addr, _, port = client.rpartition(":")
        if addr:
            fields["remote_addr"] = addr
            if port.isdigit():
                fields["remote_port"] = int(port)
        parts = fields.get("request", "").split(" ")
        if len(parts) == 3 and parts[0] != "-":
            fields["method"], fields["path"], fields["protocol"] = parts
        status = fields.get("elb_status_code")
        if isinstance(status, int):
            fields["status"] = status
        if isinstance(fields.get("sent_bytes"), int):
            fields["body_bytes_sent"] = fields["sent_bytes"]
        if "user_agent" in fields:
            fields["http_user_agent"] = fields["user_agent"]
        times = [v for k, v in fields.items() if k in _FLOATS]
        if times and all(t >= 0 for t in times):
            fields["request_time"] = round(sum(times), 6)
        level = status_level(status) if isinstance(status, int) else None
        return Record(ts_ns=ts, level=level, message=fields.get("request", line), fields=fields)
