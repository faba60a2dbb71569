"""Notifications: e-mail rendered from one jinja2 template per kind in the recipient's language and time zone
(`render`), the link each one leads to (`links`), and the outbox every state change writes them to (`outbox`).

`render.render(kind, locale, params)` turns an event into a `RenderedMessage`; `links.link_for(kind, params)` is the
page it leads to; `chalicelib.adapters.mail.get_sender()` delivers it through SES on AWS or into the local mail sink.
A new notification kind is one template, `templates/kinds/<kind>.html.j2`, and its msgids in each catalog under
`locales/` (see docs/development.md). Nothing is imported here: the outbox must stay cheap to load, and rendering
loads jinja2 and babel only with the first message rendered.
"""
