"""Notifications: e-mail rendered from one jinja2 template per kind in the recipient's language and time zone,
the link each one leads to, and the senders that deliver it.

`render.render(kind, locale, params)` turns an event into a `RenderedMessage`; `links.link_for(kind, params)` is the
page it leads to; `senders.get_sender()` delivers it through SES on AWS or into the local mail sink. A new
notification kind is one template, `templates/kinds/<kind>.html.j2`, and its msgids in each catalog under
`locales/` (see the README, "Adding a notification kind").
"""
from chalicelib.adapters.mail import Sender, SesSender, SinkSender, get_sender
from chalicelib.notify.links import link_for
from chalicelib.notify.render import KINDS, RenderedMessage, render, render_summary

__all__ = ["KINDS", "RenderedMessage", "Sender", "SesSender", "SinkSender", "get_sender", "link_for", "render",
           "render_summary"]
