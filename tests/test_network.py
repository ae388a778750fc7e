"""Proxies and certificates, the same for the API client and the downloader, as curl would
have them: a real forward proxy and a real TLS host on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers_http import (
    NoWait,
    ProxyServer,
    Reply,
    ScriptedHTTPServer,
    ranged,
    self_signed_certificate,
    start_in_thread,
)
from helpers_media import padded_video

from starvideos_tui.api import network
from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.errors import NetworkError
from starvideos_tui.api.network import ProxySettingError, proxy_for
from starvideos_tui.simulator import Simulator
from starvideos_tui.video.download import DownloadError, fetch_to_file_sync, target_path

TASK = "video_starvideos_o3_8880001111"
VIDEO = padded_video(200_000)
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture
def proxy() -> Iterator[Callable[..., ProxyServer]]:
    started: list[ProxyServer] = []

    def start(password: str | None = None) -> ProxyServer:
        server = ProxyServer(password)
        start_in_thread(server)
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


# -- which proxy, as curl picks it --------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "https://cdn.example.com/v", "http://p:3128"),
        ({"https_proxy": "p:8080"}, "https://cdn.example.com/v", "http://p:8080"),
        ({"HTTPS_PROXY": "http://p:3128"}, "http://cdn.example.com/v", None),
        ({"HTTP_PROXY": "http://p:3128"}, "http://cdn.example.com/v", "http://p:3128"),
        ({"ALL_PROXY": "http://p"}, "https://cdn.example.com/v", "http://p:1080"),
        ({"ALL_PROXY": "http://p", "NO_PROXY": "example.com"}, "https://cdn.example.com/", None),
        ({"ALL_PROXY": "http://p", "NO_PROXY": ".example.com"}, "https://example.com/", None),
        (
            {"ALL_PROXY": "http://p", "NO_PROXY": "ample.com"},
            "https://example.com/",
            "http://p:1080",
        ),
        ({"ALL_PROXY": "http://p", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/v", None),
        ({"ALL_PROXY": "http://p", "NO_PROXY": "*"}, "http://anything/v", None),
        ({"ALL_PROXY": "http://p", "no_proxy": "a.com, 127.0.0.1"}, "http://127.0.0.1:8/", None),
        (
            {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
            "https://x/",
            "http://lower:1",
        ),
    ],
)
def test_the_proxy_is_picked_as_curl_picks_it(
    env: dict[str, str], url: str, expected: str | None
) -> None:
    found = proxy_for(url, env)
    assert (found.url if found else None) == expected


@pytest.mark.parametrize("value", ["socks5://p:1080", "https://p:443", "http://p:99999"])
def test_a_proxy_this_tool_cannot_use_is_refused_by_name(value: str) -> None:
    with pytest.raises(ProxySettingError) as caught:
        network.check_proxy_settings({"HTTPS_PROXY": value})
    assert "HTTPS_PROXY" in str(caught.value)


def test_proxy_credentials_are_sent_but_never_shown() -> None:
    found = proxy_for("https://x/", {"HTTPS_PROXY": "http://user:s3cret@p:3128"})
    assert found is not None
    assert found.authorization == "Basic dXNlcjpzM2NyZXQ="
    assert "s3cret" not in found.shown and "s3cret" not in repr(found.shown)


# -- both clients go through it ---------------------------------------------------------


def test_the_downloader_goes_through_http_proxy(
    serve: Callable[..., ScriptedHTTPServer],
    proxy: Callable[..., ProxyServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen))
    relay = proxy()
    monkeypatch.setenv("HTTP_PROXY", relay.url)

    saved = fetch_to_file_sync(host.url(), target_path(TASK, tmp_path), cancel=NoWait())

    assert saved.path.read_bytes() == VIDEO
    assert [(m, t) for m, t, _ in relay.seen] == [("GET", host.url())]


def test_no_proxy_sends_the_downloader_direct(
    serve: Callable[..., ScriptedHTTPServer],
    proxy: Callable[..., ProxyServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen))
    relay = proxy()
    monkeypatch.setenv("ALL_PROXY", relay.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")

    fetch_to_file_sync(host.url(), target_path(TASK, tmp_path), cancel=NoWait())

    assert relay.seen == [] and len(host.seen) == 1


async def test_the_api_client_goes_through_the_same_proxy(
    simulator: Simulator, proxy: Callable[..., ProxyServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = simulator.seed_task("through a proxy", queued=0, processing=0)
    relay = proxy(password="pw")
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{relay.server_port}")

    async with StarVideosClient(simulator.base_url, "sk-test") as client:
        result = await client.get_result(task_id)

    assert result.status == "completed"
    method, target, authorization = relay.seen[0]
    assert (method, target) == ("GET", f"{simulator.base_url}/v1/result/{task_id}")
    assert authorization is not None and authorization.startswith("Basic ")


async def test_a_proxy_asking_the_api_client_for_credentials_says_how_to_give_them(
    simulator: Simulator, proxy: Callable[..., ProxyServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = proxy(password="pw")
    monkeypatch.setenv("HTTP_PROXY", relay.url)

    async with StarVideosClient(simulator.base_url, "sk-test") as client:
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)

    assert f"the proxy {relay.url} asks for credentials (HTTP 407)" in caught.value.message
    assert "http://user:password@host:port" in caught.value.message


async def test_a_proxy_that_is_down_is_named_in_the_api_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{port}")

    async with StarVideosClient("http://127.0.0.1:9", "sk-test") as client:
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)

    assert f"through the proxy http://127.0.0.1:{port}" in caught.value.message
    assert "refused" in caught.value.message
    assert "pw" not in caught.value.message


def test_a_proxy_asking_for_credentials_says_so(
    serve: Callable[..., ScriptedHTTPServer],
    proxy: Callable[..., ProxyServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    certificate: tuple[Path, Path],
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen), tls=certificate)
    relay = proxy(password="pw")
    monkeypatch.setenv("HTTPS_PROXY", relay.url)  # no credentials
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(host.url(), target_path(TASK, tmp_path), cancel=NoWait())

    assert "407" in caught.value.message and "proxy" in caught.value.message


# -- certificates ---------------------------------------------------------------------


def test_an_untrusted_certificate_is_named_and_not_retried(
    serve: Callable[..., ScriptedHTTPServer], tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen), tls=certificate)

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(host.url(), target_path(TASK, tmp_path), cancel=NoWait())

    assert "certificate is not trusted" in caught.value.message
    assert "SSL_CERT_FILE" in caught.value.message
    assert "partial file" not in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_ssl_cert_file_is_trusted_by_the_downloader_directly_and_through_a_tunnel(
    serve: Callable[..., ScriptedHTTPServer],
    proxy: Callable[..., ProxyServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    certificate: tuple[Path, Path],
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen), tls=certificate)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    direct = fetch_to_file_sync(host.url(), target_path(TASK, tmp_path / "a"), cancel=NoWait())
    relay = proxy()
    monkeypatch.setenv("HTTPS_PROXY", relay.url)
    tunnelled = fetch_to_file_sync(host.url(), target_path(TASK, tmp_path / "b"), cancel=NoWait())

    assert direct.path.read_bytes() == tunnelled.path.read_bytes() == VIDEO
    assert relay.seen[0][:2] == ("CONNECT", f"127.0.0.1:{host.server_port}")


async def test_the_api_client_trusts_the_same_store_as_the_downloader(
    serve: Callable[..., ScriptedHTTPServer],
    monkeypatch: pytest.MonkeyPatch,
    certificate: tuple[Path, Path],
) -> None:
    body = b'{"id": "%s", "status": "queued"}' % TASK.encode()
    api = serve(
        lambda _n, _seen: Reply(200, body, {"Content-Type": "application/json"}), tls=certificate
    )
    base = f"https://127.0.0.1:{api.server_port}"

    async with StarVideosClient(base, "sk-test") as client:
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)
    assert "certificate is not trusted" in caught.value.message

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    async with StarVideosClient(base, "sk-test") as client:
        assert (await client.get_result(TASK)).status == "queued"
