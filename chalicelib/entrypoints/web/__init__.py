"""Pages people open from e-mails: the invitation (join a team, or answer a request to join) and the
password reset. Server-rendered jinja2 from the same Lambda, in the reader's language from the same
gettext catalogs as the e-mails (`notify/locales`), right to left in Persian.

A link's one-time token never stays in the address bar: opening `/web/invitations/<token>` or
`/web/password-reset/<token>` checks it, keeps it in a signed, HttpOnly, SameSite cookie scoped to
`/web`, and redirects at once to a page without it. Every form carries a CSRF token bound to that
cookie, and a POST from another origin is refused. An unknown, used or expired link gets a page that
says so and what to do instead.
"""
