"""What both HTTP clients (the API's and the downloader's) share: proxies, certificates, and
the words for what went wrong on the way.

- Proxies follow curl: `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/`HTTP_PROXY`
  for http ones, `all_proxy`/`ALL_PROXY` for both, lower case first; `no_proxy`/`NO_PROXY`
  lists hosts, domains (`example.com` also covers `www.example.com`), IP addresses and
  CIDR ranges to reach directly, `*` for all. Only `http://` proxies are supported, by both
  clients alike; anything else is refused when the settings are read, not met mid-download.
- Certificates come from the system store (OpenSSL's default paths), which OpenSSL itself
  points elsewhere when `SSL_CERT_FILE`/`SSL_CERT_DIR` are set: one context for both.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from starvideos_tui.core.errors import UsageError

if TYPE_CHECKING:
    import ssl

# ssl, socket and http.client are imported where they are used: settings check the proxy
# variables for every command, and `list` should not pay for TLS.


class ProxySettingError(UsageError):
    """A proxy variable this tool cannot use: the user's setting to fix (exit 2)."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http:// proxy. `authorization` is the Proxy-Authorization value, if any; neither
    it nor the URL's password is ever shown (`shown` is)."""

    host: str
    port: int
    authorization: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    shown = url


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name.lower()) or env.get(name.upper())
    return value.strip() if value and value.strip() else None


def _parse_proxy(value: str, variable: str) -> Proxy:
    if "://" not in value:
        value = "http://" + value  # curl's default scheme for a proxy
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ProxySettingError(f"{variable} is not a proxy URL (bad port)") from None
    if parts.scheme.lower() != "http":
        raise ProxySettingError(
            f"{variable} uses a {parts.scheme}:// proxy; only http:// proxies are supported"
        )
    if not parts.hostname:
        raise ProxySettingError(f"{variable} is not a proxy URL (no host)")
    authorization = None
    if parts.username is not None:
        import base64

        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, port or 1080, authorization)  # curl's default port


def _bypassed(host: str, no_proxy: str | None) -> bool:
    if not no_proxy:
        return False
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".").rstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


def proxy_for(url: str, env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy to reach `url` through, as curl would pick it; None to go direct."""
    env = os.environ if env is None else env
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if _bypassed(parts.hostname or "", _env(env, "no_proxy")):
        return None
    for name in (f"{scheme}_proxy", "all_proxy"):
        if value := _env(env, name):
            return _parse_proxy(value, name.upper())
    return None


def check_proxy_settings(env: Mapping[str, str] | None = None) -> None:
    """Refuse proxy variables that cannot be used, before anything is sent."""
    env = os.environ if env is None else env
    for name in ("https_proxy", "http_proxy", "all_proxy"):
        if value := _env(env, name):
            _parse_proxy(value, name.upper())


_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def ssl_context() -> ssl.SSLContext:
    """The TLS context of both clients: the system store, or SSL_CERT_FILE/SSL_CERT_DIR."""
    import ssl

    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _contexts.get(key)
    if context is None:
        context = _contexts[key] = ssl.create_default_context()
    return context


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_certificate_error(exc: BaseException) -> bool:
    import ssl

    return any(isinstance(c, ssl.SSLCertVerificationError) for c in _chain(exc))


def describe_network_error(exc: BaseException) -> str:
    """A few words for why a connection or an answer failed: never a class name alone."""
    import http.client
    import socket
    import ssl

    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or "not trusted"
            return (
                f"its TLS certificate is not trusted ({why}); if it is yours, point "
                "SSL_CERT_FILE at its CA certificate"
            )
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or cause.__class__.__name__})"
        if isinstance(cause, socket.gaierror):
            return "its host name could not be resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "the connection was reset"
        if isinstance(cause, TimeoutError):
            return "it did not answer in time"
        if isinstance(cause, http.client.LineTooLong):
            return "its answer has a header line that is too long"
        if isinstance(cause, http.client.RemoteDisconnected):
            return "it closed the connection without answering"
        if isinstance(cause, http.client.IncompleteRead):
            return "the connection closed before the body was complete"
        if isinstance(cause, http.client.BadStatusLine):
            return "its answer is not HTTP"
        if isinstance(cause, http.client.HTTPException):
            return "its answer is not valid HTTP"
        if isinstance(cause, OSError) and str(cause).startswith("Tunnel connection failed"):
            return f"the proxy refused the tunnel ({str(cause).split(':', 1)[-1].strip()[:60]})"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    return "the connection failed"
