"""The address a request comes from, for every limit counted per client address.

``X-Forwarded-For`` is whatever the sender wrote, except for the hops that a proxy we run appended: it is
believed only when the peer is one of ``TRUSTED_PROXIES``, and then only its right-most address that is not
a trusted proxy (the one our outermost proxy saw). Everything left of that is the client's own say.
"""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind trusted proxies the address the outermost one saw."""
    peer = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop
    # Every hop is one of ours (a request from inside): the first one is where it started.
    return hops[0] if hops else peer


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)
