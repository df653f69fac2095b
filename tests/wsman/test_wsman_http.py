"""The httpx client against the simulator's HTTP server on 127.0.0.1, over HTTP and HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from amtterm.errors import (
    AuthError,
    ConnectError,
    TlsError,
    TlsPinMismatch,
    WsmanMalformedReply,
    WsmanNotSupported,
    WsmanRefused,
    WsmanReturnValueError,
    WsmanTimeout,
)
from amtterm.sim.wsman.digest import Verdict
from amtterm.transport.tls import client_context
from amtterm.wsman import boot, operations
from amtterm.wsman.client import WsmanClient
from tests.wsman.conftest import PASSWORD, Cert, Served

pytestmark = pytest.mark.timeout(30)


def client_for(served: Served, password: str = PASSWORD, **kwargs: object) -> WsmanClient:
    return WsmanClient(
        "127.0.0.1",
        user="admin",
        password=password,
        tls=served.tls,
        port=served.port,
        verify=served.verify,
        timeout=5.0,
        **kwargs,  # type: ignore[arg-type]
    )


def credentialed(served: Served) -> int:
    return sum(record.had_credentials for record in served.server.auth_log)


async def test_every_operation_over_the_wire(served: Served) -> None:
    device = served.device
    device.state.lms_present = True
    async with client_for(served) as client:
        assert (await operations.power_status(client)).state == "on"
        assert (await operations.power_action(client, "off")).sent == 8
        assert (await operations.power_action(client, "on")).sent == 2
        assert (await operations.power_action(client, "reset")).sent == 10
        assert (await operations.power_action(client, "cycle")).sent == 5
        assert (await operations.power_action(client, "soft-reset")).sent == 14
        assert (await operations.power_action(client, "soft-off")).sent == 12
        result = await boot.boot_override(client, "bios", sol=True, then="reset")
        assert result.power == "on"  # it was off after soft-off
        assert device.host.calls[-1] == "on:bios"
        assert (await boot.boot_override(client, "clear")).target == "clear"
        assert not (await operations.set_redirection(client, False)).listener
        assert (await operations.set_redirection(client, True)).sol_usable
        assert (await operations.redirection_status(client)).ider_usable
        device.state.control_mode = "client"
        device.state.code_source = lambda: "314159"
        assert (await operations.consent_status(client)).required == "all"
        assert (await operations.consent_request(client)).state == "displayed"
        assert (await operations.consent_code(client, "314159")).granted
        info = await operations.device_info(client)
        assert (info.amt_version, info.control_mode, info.host_name) == ("16.1.25", "client", "simhost")
        if served.tls:
            assert client.peer_certificate is not None
    # one challenge for the whole session: credentials that worked are reused
    assert [r.verdict for r in served.server.auth_log].count(Verdict.CHALLENGE) == 1


async def test_refusals_over_the_wire(served: Served) -> None:
    async with client_for(served) as client:
        served.device.state.set_session_open("sol", True, served.device.clock.now)
        with pytest.raises(WsmanReturnValueError, match="redirection session"):
            await operations.power_action(client, "off")
        served.device.state.set_session_open("sol", False, served.device.clock.now)
        await operations.power_action(client, "off")
        with pytest.raises(WsmanRefused, match="reset needs it on"):
            await operations.power_action(client, "reset")
        with pytest.raises(WsmanRefused, match="soft-off needs it on"):
            await operations.power_action(client, "soft-off")
        served.device.state.control_mode = "client"
        with pytest.raises(WsmanRefused, match="consent"):
            await boot.boot_override(client, "pxe")
        with pytest.raises(WsmanNotSupported):  # a 400 fault over HTTP
            await operations.get_instance(client, "CIM_KVMRedirectionSAP")


async def test_wrong_password_is_one_sentence_and_one_attempt_per_call(served: Served) -> None:
    async with client_for(served, password="wrong") as client:
        for calls in (1, 2, 3):
            with pytest.raises(AuthError) as caught:
                await operations.power_status(client)
            assert credentialed(served) == calls
    assert str(caught.value) == (
        f"Log-on to 127.0.0.1:{served.port} failed: wrong user name or password, or the account is "
        "locked after repeated failures (AMT locks it for a while after 10 in a row)."
    )
    assert served.device.host.calls == []


async def test_a_reset_nonce_gets_exactly_one_retry(served: Served) -> None:
    async with client_for(served) as client:
        await operations.power_status(client)
        served.server.gate.nonces.clear()  # the device forgot its nonces
        await operations.power_status(client)
    verdicts = [r.verdict for r in served.server.auth_log]
    assert verdicts == [Verdict.CHALLENGE, Verdict.OK, Verdict.STALE, Verdict.OK]


async def test_lockout_after_ten_failures_then_it_lifts(served: Served) -> None:
    async with client_for(served, password="guess") as bad:
        for _ in range(10):
            with pytest.raises(AuthError):
                await operations.power_status(bad)
    async with client_for(served) as good:
        with pytest.raises(AuthError, match="locked"):
            await operations.power_status(good)
        assert served.server.auth_log[-1].verdict is Verdict.LOCKED
        served.device.clock.now += 6
        assert (await operations.power_status(good)).state == "on"


async def test_unreachable_port_is_a_connect_error(served: Served) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    served_elsewhere = Served(served.device, served.server, free, served.tls, served.verify)
    async with client_for(served_elsewhere) as client:
        with pytest.raises(ConnectError) as caught:
            await operations.power_status(client)
    assert str(caught.value).startswith(f"127.0.0.1:{free} refused the connection")


# -- TLS only -------------------------------------------------------------------------------------


async def test_certificate_hook_runs_before_credentials_are_sent(https: Served, cert: Cert) -> None:
    seen: list[bytes] = []

    def pin(der: bytes) -> None:
        seen.append(der)
        raise TlsPinMismatch("The device's certificate does not match the pinned one.")

    async with client_for(https, on_peer_certificate=pin) as client:
        with pytest.raises(TlsPinMismatch):
            await operations.power_status(client)
    assert seen == [cert.der]
    assert credentialed(https) == 0


async def test_untrusted_certificate_is_a_tls_error(https: Served) -> None:
    async with WsmanClient(
        "127.0.0.1", user="admin", password=PASSWORD, port=https.port, timeout=5
    ) as client:
        with pytest.raises(TlsError, match=r"TLS certificate of 127\.0\.0\.1"):
            await operations.power_status(client)


# -- a broken device (plain HTTP, hand-written replies) -------------------------------------------

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def broken_device(reply: Reply) -> AsyncIterator[int]:
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            await reply(reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def answer(raw: bytes) -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return reply


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot xml!!", "not well-formed XML"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n<a:Envelope xmlns:a=", "broke off"),
        (
            b'HTTP/1.1 200 OK\r\nContent-Length: 29\r\n\r\n<x:Envelope xmlns:x="urn:x"/>',
            "not a SOAP 1.2 envelope",
        ),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!", "answered HTTP 404 Not Found"),
    ],
    ids=["not-xml", "truncated", "not-soap", "http-404"],
)
async def test_malformed_replies(raw: bytes, sentence: str) -> None:
    async with broken_device(answer(raw)) as port:
        client = WsmanClient("127.0.0.1", user="admin", password="x", tls=False, port=port, timeout=5)
        async with client:
            with pytest.raises(WsmanMalformedReply, match=sentence):
                await operations.power_status(client)


async def test_a_device_that_never_answers_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with (
        broken_device(silent) as port,
        WsmanClient("127.0.0.1", user="a", password="b", tls=False, port=port, timeout=0.3) as client,
    ):
        with pytest.raises(WsmanTimeout, match=r"did not answer within 0\.3 s"):
            await operations.power_status(client)


async def test_works_with_the_consoles_pinning_context(https: Served, cert: Cert) -> None:
    seen: list[bytes] = []
    client = WsmanClient(
        "127.0.0.1",
        user="admin",
        password=PASSWORD,
        port=https.port,
        verify=client_context(),
        on_peer_certificate=seen.append,
        timeout=5,
    )
    async with client:
        assert (await operations.power_status(client)).state == "on"
    assert seen and set(seen) == {cert.der}
