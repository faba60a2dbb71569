"""Notifications: e-mail rendered from jinja2 templates in the recipient's language, and the senders that deliver it.

`render.render(kind, locale, params)` turns an event into a `RenderedMessage`; `senders.get_sender()` delivers it
through SES on AWS or into the local mail sink. A new notification kind is only new files under
`templates/<locale>/`.
"""
from chalicelib.notify.render import KINDS, RenderedMessage, render, render_summary
from chalicelib.notify.senders import Sender, SesSender, SinkSender, get_sender

__all__ = ["KINDS", "RenderedMessage", "Sender", "SesSender", "SinkSender", "get_sender", "render", "render_summary"]
