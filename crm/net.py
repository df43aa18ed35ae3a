"""The client's address, for login throttling (django-axes) and every log that records one.

Behind reverse proxies, REMOTE_ADDR is the nearest proxy's address: every user would share it.
Each proxy appends the address it received the request from to X-Forwarded-For, so with
TRUSTED_PROXY_COUNT proxies in front of the application the client is the TRUSTED_PROXY_COUNT-th
entry from the right. Entries further left were written by the client itself and prove nothing.
With TRUSTED_PROXY_COUNT = 0 (the default) the header is ignored: a client that reaches the
application directly could write anything there."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(raw: str) -> str | None:
    """The normalised IP address in `raw`, or None. Tolerates the ports and brackets some proxies
    write ("203.0.113.7:51234", "[2001:db8::1]:443")."""
    raw = raw.strip()
    candidates = [raw]
    if raw.startswith("[") and "]" in raw:
        candidates.append(raw[1 : raw.index("]")])
    elif raw.count(":") == 1:
        candidates.append(raw.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def client_ip(request: HttpRequest) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [h for h in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if h.strip()]
    if len(hops) < proxies:
        # Fewer hops than trusted proxies: the request did not come through all of them.
        return remote
    return _address(hops[-proxies]) or remote
