"""Senders: deliver a rendered message through SES on AWS, or into a local sink directory a person can open.

`get_sender()` picks one by `settings.mail_transport`. Neither sender decides *whether* to send: that is the outbox's
job. The sink is idempotent per message_id on its own; SES is not, so the caller sends each message_id once.
"""
from __future__ import annotations

import glob
import json
import os
import re
import threading
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

import boto3

from chalicelib.notify.render import RenderedMessage, render_sink_index
from chalicelib.platform import clock, config

MESSAGE_ID_HEADER = "X-Escrowdesk-Message-Id"
INDEX_SIZE = 500  # messages listed in the sink's index.html, newest first
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class Sender(Protocol):
    def send(self, *, to: str, message: RenderedMessage, message_id: str) -> None: ...


class SesSender:
    """Sends through the SES v2 API as `settings.mail_from`, tagging the e-mail with its message_id."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        # Created on first use so importing or building a sender never needs AWS credentials.
        if self._client is None:
            self._client = boto3.client("sesv2", region_name=config.settings.region)
        return self._client

    def send(self, *, to: str, message: RenderedMessage, message_id: str) -> None:
        self.client.send_email(
            FromEmailAddress=config.settings.mail_from,
            Destination={"ToAddresses": [to]},
            Content={"Simple": _ses_content(message, message_id)},
            EmailTags=[{"Name": "message_id", "Value": _safe_id(message_id)}],
        )


class SinkSender:
    """Writes `<UTC timestamp>-<message_id>.eml` plus an `.html` copy of the body, and keeps `index.html` listing them.

    Sending a message_id that is already in the directory does nothing.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory if directory is not None else config.settings.mail_sink_dir)

    def send(self, *, to: str, message: RenderedMessage, message_id: str) -> None:
        safe_id = _safe_id(message_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._already_sent(safe_id):
            return
        sent_at = clock.now()
        stem = f"{sent_at.strftime('%Y%m%dT%H%M%S.%fZ')}-{safe_id}"
        _write_atomic(self.directory / f"{stem}.html", message.html.encode("utf-8"))
        # The .eml goes last: its presence is what marks the message as sent.
        eml_path = self.directory / f"{stem}.eml"
        _write_atomic(eml_path, _eml(to, message, message_id, sent_at).as_bytes())
        # One line per message in index.jsonl (a single O_APPEND write, whole even with many senders at
        # once); index.html shows the newest INDEX_SIZE of them without re-reading every .eml.
        with (self.directory / "index.jsonl").open("ab") as log:
            log.write(json.dumps(_index_entry(eml_path)).encode("utf-8") + b"\n")
        _write_atomic(self.directory / "index.html", render_sink_index(self._index_entries()).encode("utf-8"))

    def _already_sent(self, safe_id: str) -> bool:
        return any(self.directory.glob(f"*-{glob.escape(safe_id)}.eml"))

    def _index_entries(self) -> list[dict]:
        lines = (self.directory / "index.jsonl").read_bytes().splitlines()
        entries = [json.loads(line) for line in lines[-INDEX_SIZE:] if line.strip()]
        return sorted(entries, key=lambda entry: entry["eml"], reverse=True)


_TRANSPORTS: dict[str, type[SesSender] | type[SinkSender]] = {"ses": SesSender, "sink": SinkSender}


def get_sender() -> Sender:
    transport = config.settings.mail_transport
    if transport not in _TRANSPORTS:
        raise ValueError(f"unknown MAIL_TRANSPORT {transport!r}; expected one of {sorted(_TRANSPORTS)}")
    return _TRANSPORTS[transport]()


def _ses_content(message: RenderedMessage, message_id: str) -> dict:
    return {
        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
        "Body": {
            "Text": {"Data": message.text, "Charset": "UTF-8"},
            "Html": {"Data": message.html, "Charset": "UTF-8"},
        },
        "Headers": [{"Name": MESSAGE_ID_HEADER, "Value": message_id},
                    *({"Name": name, "Value": value} for name, value in message.headers)],
    }


def _eml(to: str, message: RenderedMessage, message_id: str, sent_at: datetime) -> EmailMessage:
    sender = config.settings.mail_from
    domain = parseaddr(sender)[1].rpartition("@")[2] or "escrowdesk.local"
    eml = EmailMessage()
    eml["From"] = sender
    eml["To"] = to
    eml["Subject"] = message.subject
    eml["Date"] = format_datetime(sent_at)
    eml["Message-ID"] = f"<{_safe_id(message_id)}@{domain}>"
    eml[MESSAGE_ID_HEADER] = message_id
    for name, value in message.headers:
        eml[name] = value
    eml.set_content(message.text)
    eml.add_alternative(message.html, subtype="html")
    return eml


def _index_entry(eml_path: Path) -> dict:
    with eml_path.open("rb") as handle:
        headers = BytesHeaderParser(policy=policy.default).parse(handle)
    return {
        "sent_at": clock.iso(headers["Date"].datetime),
        "to": str(headers["To"]),
        "subject": str(headers["Subject"]),
        "eml": eml_path.name,
        "html": eml_path.with_suffix(".html").name,
    }


def _safe_id(message_id: str) -> str:
    """The id as it may appear in a file name and an SES tag (ASCII letters, digits, `_` and `-`)."""
    return _UNSAFE.sub("_", message_id)


def _write_atomic(path: Path, data: bytes) -> None:
    # the local server sends from many threads at once: each writes its own temporary file
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
