"""Which addresses a provider URL may reach: the public internet only, unless the operator allows more.

A provider's URL is typed by staff, and the panel then POSTs to it from inside its own network,
with the answer shown back in the admin. Without a check, a URL such as `http://169.254.169.254/`
(a cloud's metadata service, which hands out credentials), `http://127.0.0.1:6379/` (our Redis)
or `http://10.0.0.5/` (an office router) turns the panel into a way into that network (SSRF).

The check runs when a provider is saved and again each time a connection opens, on the
addresses the connection will really use: a name that resolved to a public address when it was
saved and to a private one later (DNS rebinding) is refused then. `PROVIDER_ALLOW_PRIVATE_URLS=1`
turns it off, for the demo's and the tests' simulator on localhost.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["address_problem", "resolve", "url_address_problem"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64), so that a gateway
# would reach that IPv4 address.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def resolve(host: str, port: int | None = None) -> list[str]:
    """Every address `host` resolves to (raises socket.gaierror); an IP literal is itself."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str) -> str | None:
    """Why a provider may not be at `address` ("a loopback address"), or None for a public one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") names no host
    except ValueError:
        return "not an IP address"
    for embedded in _embedded_ipv4(ip):
        problem = address_problem(str(embedded))
        if problem:
            return problem
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        # 169.254.169.254, the metadata service of most clouds, is link-local.
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or not ip.is_global:
        return "not a public address"
    return None


def url_address_problem(url: str) -> str | None:
    """Why `url` may not be a provider's (its host resolves to a refused address), or None.

    A name that does not resolve is not refused here: the connection check that follows reports it.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return refusal(host, address, problem)
    return None


def refusal(host: str, address: str, problem: str) -> str:
    shown = host if host == address else f"{host} ({address})"
    return (
        f"{shown} is {problem}: a provider must be on the public internet "
        "(PROVIDER_ALLOW_PRIVATE_URLS=1 allows private addresses)"
    )


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if any(ip in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]
