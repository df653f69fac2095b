"""The UEFI boot parameter (TLV) codec of One Click Recovery: golden bytes, round trips, rules."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amtterm.wsman.uefi_params import (
    ParamType,
    UefiParam,
    UefiParamError,
    check_https_url,
    decode_params,
    encode_params,
    from_base64,
    https_boot_params,
    read_https_boot,
    split_credentials,
    to_base64,
    validate_params,
)

# MeshCentral's amt-ocr module records, as hex, what MeshCommander 0.8.6 sent a real AMT for an
# HTTPS boot: URL (1), sync root CA (20), server certificate SHA-256 (23), timeout 60 s (30).
MESHCOMMANDER_086 = bytes.fromhex(
    "8680" "0100" "2c000000"
    "68747470733a2f2f31302e3135312e3133372e3139383a343133352f34343131313435323237343935353831"
    "8680" "1400" "01000000" "00"
    "8680" "1700" "20000000" "ac8adfe3809dc66990040fdaac53765e369c0242f2a789327b57c072d5dd2677"
    "8680" "1e00" "02000000" "3c00"
)  # fmt: skip

# go-wsman-messages' CreateTLVBuffer (what Intel's DMT sends) for https://example.com/boot and
# sync root CA = 1: vendor u16, type u16, length u32, value; all little-endian.
DMT_EXAMPLE = (
    bytes.fromhex("8680" "0100" "18000000") + b"https://example.com/boot"
    + bytes.fromhex("8680" "1400" "01000000" "01")
)  # fmt: skip


def test_meshcommander_capture_decodes_to_its_four_parameters() -> None:
    params = decode_params(MESHCOMMANDER_086)
    assert [p.type for p in params] == [1, 20, 23, 30]
    assert params[0].value == b"https://10.151.137.198:4135/4411145227495581"
    assert params[1].value == b"\x00"
    assert len(params[2].value) == 32
    settings = read_https_boot(params)
    assert settings is not None
    assert (settings.url, settings.sync_root_ca, settings.timeout) == (
        "https://10.151.137.198:4135/4411145227495581",
        False,
        60,
    )
    assert encode_params(params) == MESHCOMMANDER_086
    validate_params(params, count=4)


def test_https_boot_parameters_are_the_bytes_dmt_writes() -> None:
    params = https_boot_params("https://example.com/boot")
    assert encode_params(params) == DMT_EXAMPLE
    assert from_base64(to_base64(params)) == params


def test_timeout_and_credentials_follow_in_console_order() -> None:
    params = https_boot_params("https://alice:s3cret@boot.example.invalid:8443/x.efi", timeout=60)
    assert [p.type for p in params] == [1, 20, 30, 40, 41]
    assert params[0].value == b"https://boot.example.invalid:8443/x.efi"
    assert params[2].value == b"\x3c\x00"
    assert (params[3].value, params[4].value) == (b"alice", b"s3cret")


def test_split_credentials_decodes_escapes_and_keeps_plain_urls() -> None:
    assert split_credentials("https://a%40b:p%3Aw@h/x") == ("https://h/x", "a@b", "p:w")
    assert split_credentials("https://h/x") == ("https://h/x", None, None)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1/x.efi", "must start with https://"),
        ("ftp://h/x", "must start with https://"),
        ("https:///x.efi", "names no server"),
        ("https://h:99999/x", "invalid port"),
        ("https://h/x y", "printable ASCII"),
        ("https://h/\u00e9", "printable ASCII"),
        ("https://h/" + "a" * 300, "at most 300"),
        ("https://[fe80::1/x.efi", "not a valid URL"),
    ],
)
def test_bad_urls_get_one_sentence(url: str, words: str) -> None:
    with pytest.raises(UefiParamError) as caught:
        check_https_url(url)
    text = str(caught.value)
    assert words in text
    assert text.endswith(".") and text.count(". ") == 0


def test_credentials_over_sixteen_bytes_are_refused() -> None:
    with pytest.raises(UefiParamError, match="HTTP password is 17 bytes; AMT takes at most 16"):
        https_boot_params("https://u:" + "p" * 17 + "@h/x")
    with pytest.raises(UefiParamError, match="password needs a user name"):
        https_boot_params("https://h/x", password="pw")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ([UefiParam(20, b"\x01")], "need an HTTPS URL or a UEFI device path"),
        ([UefiParam.text(ParamType.NETWORK_DEVICE_PATH, "https://h/x"), UefiParam(20, b"\x02")], "0 or 1"),
        ([UefiParam.text(ParamType.NETWORK_DEVICE_PATH, "https://h/x"), UefiParam(20, b"")], "exactly 1"),
        ([UefiParam.text(ParamType.NETWORK_DEVICE_PATH, "https://h/x")] * 2, "given twice"),
        ([UefiParam(99, b"x")], "not one AMT knows"),
        ([UefiParam(1, b"https://h/x", vendor=0x1234)], "not Intel's"),
        ([UefiParam.text(ParamType.FILE_DEVICE_PATH, "PciRoot(0x0)")], "needs its length"),
        (
            [UefiParam.text(ParamType.NETWORK_DEVICE_PATH, "https://h/x"), UefiParam(22, b"\x04\x00")],
            "server name check",
        ),
        (
            [UefiParam(23, b"\x00" * 31), UefiParam.text(ParamType.NETWORK_DEVICE_PATH, "https://h/x")],
            "exactly 32",
        ),
    ],
)
def test_rules_amt_applies(params: list[UefiParam], words: str) -> None:
    with pytest.raises(UefiParamError, match=words):
        validate_params(params)


def test_count_must_match_the_list() -> None:
    params = https_boot_params("https://h/x")
    with pytest.raises(UefiParamError, match="says 3 but UefiBootParametersArray holds 2"):
        validate_params(params, count=3)


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (DMT_EXAMPLE[:5], "inside an entry header"),
        (DMT_EXAMPLE[:20], "claims 24 bytes but only 12 follow"),
        (bytes.fromhex("8680 0100 ffffffff"), "claims 4294967295 bytes"),
    ],
)
def test_truncated_blobs_are_one_sentence(blob: bytes, words: str) -> None:
    with pytest.raises(UefiParamError, match=words):
        decode_params(blob)


def test_not_base64_is_refused() -> None:
    with pytest.raises(UefiParamError, match="not base64"):
        from_base64("**not base64**")


def test_more_entries_than_any_console_sends_are_refused() -> None:
    with pytest.raises(UefiParamError, match="more than 32"):
        decode_params(encode_params([UefiParam(20, b"\x01")] * 33))


params_strategy = st.lists(
    st.builds(
        UefiParam,
        type=st.integers(0, 0xFFFF),
        value=st.binary(max_size=64),
        vendor=st.integers(0, 0xFFFF),
    ),
    max_size=32,
)


@given(params_strategy)
def test_any_list_round_trips(params: list[UefiParam]) -> None:
    assert decode_params(encode_params(params)) == tuple(params)
    assert from_base64(to_base64(params)) == tuple(params)


@given(st.binary(max_size=400))
def test_decoder_returns_or_says_why(data: bytes) -> None:
    try:
        params = decode_params(data)
    except UefiParamError as exc:
        assert str(exc).endswith(".")
    else:
        assert encode_params(params) == data


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,5}){0,2}", fullmatch=True),
    path=st.from_regex(r"(/[A-Za-z0-9._-]{1,12}){0,4}", fullmatch=True),
    timeout=st.none() | st.integers(0, 0xFFFF),
)
def test_any_valid_https_url_round_trips(host: str, path: str, timeout: int | None) -> None:
    url = f"https://{host}{path}"
    params = https_boot_params(url, timeout=timeout)
    settings = read_https_boot(from_base64(to_base64(params)))
    assert settings is not None
    assert (settings.url, settings.sync_root_ca, settings.timeout) == (url, True, timeout)
    assert base64.b64decode(to_base64(params))[:2] == b"\x86\x80"
