"""The state registry (ЄДР), behind one small interface: `company(tax_id)` → the name, address and
director (or the proprietor) of a company or sole proprietor, as the seed's "the rest is pulled from
the registries".

On AWS `REGISTRY_URL` names an HTTP service that answers `GET <REGISTRY_URL>/companies/<tax_id>` with
`{"name", "address", "director"}` (404: unknown), `Authorization: Bearer <REGISTRY_TOKEN>`. Locally a
fake answers every valid tax id with a sample company, so requisites can be filled in by hand.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from chalicelib.platform import outgoing, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Unprocessable, UpstreamUnavailable


@dataclass(frozen=True)
class Company:
    name: str
    address: str
    director: str


class Registry(Protocol):
    def company(self, tax_id: str) -> Company: ...


class LocalRegistry:
    def company(self, tax_id: str) -> Company:
        if len(tax_id) == 10:
            return Company(f"ФОП Зразковий Петро Іванович ({tax_id})", "03150, м. Київ, вул. Велика Васильківська, 100",
                           "Зразковий Петро Іванович")
        return Company(f"ТОВ «Зразок {tax_id}»", "01001, м. Київ, вул. Хрещатик, 22", "Іваненко Олена Петрівна")


class HttpRegistry:
    def company(self, tax_id: str) -> Company:
        request = urllib.request.Request(f"{settings.registry_url.rstrip('/')}/companies/{tax_id}", headers={
            "Accept": "application/json", "Authorization": f"Bearer {secret_store.current('registry-token')}"})
        try:
            with outgoing.urlopen(request, timeout=10) as response:
                found = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise Unprocessable("company_not_found", f"The state registry knows no company or sole proprietor "
                                    f"with tax id {tax_id}", field="tax_id") from None
            raise UpstreamUnavailable(message="The state registry did not answer; try again later") from None
        except (urllib.error.URLError, TimeoutError, ValueError):
            raise UpstreamUnavailable(message="The state registry did not answer; try again later") from None
        return Company(str(found["name"]), str(found.get("address", "")), str(found.get("director", "")))


def get_registry() -> Registry:
    """The HTTP service on every deployed stage (unset, it answers 503); the local fake on the local stage."""
    return HttpRegistry() if settings.registry_url or not settings.is_local else LocalRegistry()
