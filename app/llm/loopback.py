"""Model servers on this machine are asked directly, never through a proxy.

Holdtype takes a model whose ``api_base`` is this machine (``127.0.0.1``, ``localhost``,
``[::1]``) for a local one, and may run a mode on it by itself (llm's default model). But the
OpenAI client llm's plugins build sends every request through the proxy that ``HTTP_PROXY``,
``HTTPS_PROXY`` or ``ALL_PROXY`` names, as a company network sets them, unless ``NO_PROXY``
names the host: the dictation left the machine for the proxy. :func:`bypass_proxies` adds this
machine's names to ``NO_PROXY`` and ``no_proxy``, which every HTTP client reads when it is
made (httpx, requests, urllib, curl), before each call; a proxy still carries what goes to
another machine.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse

#: This machine's names, as ``NO_PROXY`` lists hosts (an IPv6 address without brackets).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_NO_PROXY = ("no_proxy", "NO_PROXY")  # (urllib, httpx and requests read the small one first)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, as a URL gives it) is this machine.

    >>> [is_loopback(h) for h in ("localhost", "app.localhost", "127.0.0.2", "::1", "[::1]")]
    [True, True, True, True, True]
    >>> [is_loopback(h) for h in ("", "llm.example.com", "192.168.1.20", "localhost.example.com")]
    [False, False, False, False]
    """
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost


def loopback_host(api_base: str | None) -> str | None:
    """The host of ``api_base`` when it is this machine, else None (none given, another
    machine's, or a URL that does not parse).

    >>> loopback_host("http://[::1]:8080/v1"), loopback_host("https://llm.example.com/v1")
    ('::1', None)
    >>> [loopback_host(b) for b in ("http://127.0.0.1:8080/v1", "http://localhost/v1", "http://192.168.1.20:11434/v1")]
    ['127.0.0.1', 'localhost', None]
    """
    try:
        host = urllib.parse.urlsplit(api_base or "").hostname
    except ValueError:  # ("http://[::1/v1": the call says what is wrong with it)
        return None
    return host if host and is_loopback(host) else None


def bypass_proxies(api_base: str | None = None) -> None:
    """Make every HTTP client made from now on reach this machine without a proxy: add
    :data:`LOOPBACK_HOSTS`, and the host of ``api_base`` when it is another of this machine's
    (``127.0.0.2``, ``llm.localhost``), to the ``no_proxy`` and ``NO_PROXY`` the user set (their
    hosts kept; both made when neither is set). Written only when a host is missing."""
    hosts = list(LOOPBACK_HOSTS)
    extra = loopback_host(api_base)
    if extra and extra not in hosts:
        hosts.append(extra)
    names = [name for name in _NO_PROXY if name in os.environ] or list(_NO_PROXY)
    for name in names:
        listed = [entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()]
        if "*" in listed:  # (every host is reached directly already)
            continue
        known = {entry.lower().strip("[]") for entry in listed}
        missing = [host for host in hosts if host.lower() not in known]
        if missing:
            os.environ[name] = ",".join(listed + missing)


def local_server_down(api_base: str | None, timeout_s: float = 1.0) -> str | None:
    """Why the model server at ``api_base``, on this machine, takes no connection ("nothing
    answers at …: is its server running?"), or None: it does, it is on another machine (never
    asked: nothing leaves the machine for a check), or that cannot be told in ``timeout_s``.
    Only a connection is opened and closed: no request is sent.

    >>> local_server_down(None), local_server_down("https://llm.example.com/v1")
    (None, None)
    """
    host = loopback_host(api_base)
    if host is None:
        return None
    import socket

    try:
        parts = urllib.parse.urlsplit(api_base or "")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return f"nothing answers at {api_base}: is its server running?"
    except (OSError, ValueError):  # (a slow answer, a port out of range: the call will tell)
        return None
