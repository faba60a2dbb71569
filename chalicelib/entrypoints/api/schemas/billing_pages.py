"""The site owners' billing section's forms (chalicelib/entrypoints/web/billing*.py), posted as
application/x-www-form-urlencoded. Every form carries the session's CSRF token."""
from __future__ import annotations

from pydantic import Field

from chalicelib.entrypoints.api.schemas.common import ApiModel


class WebLoginForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)


class WebLogoutForm(ApiModel):
    csrf: str = Field(min_length=1, max_length=100)
