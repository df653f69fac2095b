"""UEFI boot parameters of One Click Recovery: the TLV list in AMT_BootSettingData (pure, no I/O).

Wire format (modern-amt.md §1.2; what MeshCommander's, MeshCentral's and Intel's DMT writers put
on the wire, and what MeshCentral's comments show from a real exchange)::

    u16 vendor (0x8086) | u16 type | u32 length | value      all little-endian, repeated

The concatenation is base64'd into ``AMT_BootSettingData.UefiBootParametersArray`` and the
number of parameters goes into ``UefiBootNumberOfParams``. (DMT's and go-wsman-messages'
*parsers* read a one-byte type and length; their own writers and MeshCommander write the layout
above, and that is what a device receives, so this module reads what they write.)

Rules kept here, each failure one sentence (:class:`UefiParamError`):

* a value no longer than its type's maximum (:data:`MAX_SIZES`); fixed-size types exactly
  their size (booleans 1 byte of 0 or 1, u16 values 2 bytes, hashes their digest size);
* the HTTPS URL (type 1) is ``https://`` with a host, printable ASCII, at most 300 bytes;
* a list names either a URL (HTTPS boot) or a file device path with its length (types 2 + 3,
  the local PBA / WinRE boot), and no type twice;
* the server-name verify method (type 22) is 1 (full name), 2 (domain suffix) or 3 (other).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

from amtterm.errors import ConfigError

VENDOR_INTEL: Final = 0x8086
HEADER: Final = struct.Struct("<HHI")
#: More parameters than any console sends; a blob with more is refused before it is read.
MAX_PARAMS: Final = 32
MAX_URL_BYTES: Final = 300


class UefiParamError(ConfigError):
    """A UEFI boot parameter list that AMT would refuse, or a blob that is not one."""


class ParamType(IntEnum):
    """The parameter types of One Click Recovery (modern-amt.md §1.2 table)."""

    NETWORK_DEVICE_PATH = 1  # the HTTPS URL
    FILE_DEVICE_PATH = 2  # a UEFI device path (PBA, WinRE)
    DEVICE_PATH_LENGTH = 3  # u16: its length
    IMAGE_HASH_SHA256 = 4
    IMAGE_HASH_SHA384 = 5
    IMAGE_HASH_SHA512 = 6
    OPTIONAL_DATA = 10
    SYNC_ROOT_CA = 20  # bool: hand AMT's trusted roots to the firmware
    SERVER_NAME = 21
    SERVER_NAME_VERIFY_METHOD = 22  # u16: 1 full name, 2 domain suffix, 3 other
    SERVER_CERT_HASH_SHA256 = 23
    SERVER_CERT_HASH_SHA384 = 24
    SERVER_CERT_HASH_SHA512 = 25
    REQUEST_TIMEOUT = 30  # u16 seconds (sent for AMT > 16 only)
    USER_NAME = 40  # HTTP basic authentication
    PASSWORD = 41


MAX_SIZES: Final[dict[int, int]] = {
    ParamType.NETWORK_DEVICE_PATH: MAX_URL_BYTES,
    ParamType.FILE_DEVICE_PATH: 300,
    ParamType.DEVICE_PATH_LENGTH: 2,
    ParamType.IMAGE_HASH_SHA256: 32,
    ParamType.IMAGE_HASH_SHA384: 48,
    ParamType.IMAGE_HASH_SHA512: 64,
    ParamType.OPTIONAL_DATA: 50,
    ParamType.SYNC_ROOT_CA: 1,
    ParamType.SERVER_NAME: 256,
    ParamType.SERVER_NAME_VERIFY_METHOD: 2,
    ParamType.SERVER_CERT_HASH_SHA256: 32,
    ParamType.SERVER_CERT_HASH_SHA384: 48,
    ParamType.SERVER_CERT_HASH_SHA512: 64,
    ParamType.REQUEST_TIMEOUT: 2,
    ParamType.USER_NAME: 16,
    ParamType.PASSWORD: 16,
}
#: Types whose value must be exactly their maximum size.
FIXED_SIZE: Final = frozenset(
    {
        ParamType.DEVICE_PATH_LENGTH,
        ParamType.IMAGE_HASH_SHA256,
        ParamType.IMAGE_HASH_SHA384,
        ParamType.IMAGE_HASH_SHA512,
        ParamType.SYNC_ROOT_CA,
        ParamType.SERVER_NAME_VERIFY_METHOD,
        ParamType.SERVER_CERT_HASH_SHA256,
        ParamType.SERVER_CERT_HASH_SHA384,
        ParamType.SERVER_CERT_HASH_SHA512,
        ParamType.REQUEST_TIMEOUT,
    }
)
NAMES: Final[dict[int, str]] = {
    ParamType.NETWORK_DEVICE_PATH: "the HTTPS URL",
    ParamType.FILE_DEVICE_PATH: "the UEFI device path",
    ParamType.DEVICE_PATH_LENGTH: "the device path length",
    ParamType.IMAGE_HASH_SHA256: "the image's SHA-256 hash",
    ParamType.IMAGE_HASH_SHA384: "the image's SHA-384 hash",
    ParamType.IMAGE_HASH_SHA512: "the image's SHA-512 hash",
    ParamType.OPTIONAL_DATA: "the optional data",
    ParamType.SYNC_ROOT_CA: "the sync-root-CA switch",
    ParamType.SERVER_NAME: "the server name",
    ParamType.SERVER_NAME_VERIFY_METHOD: "the server name check",
    ParamType.SERVER_CERT_HASH_SHA256: "the server certificate's SHA-256 hash",
    ParamType.SERVER_CERT_HASH_SHA384: "the server certificate's SHA-384 hash",
    ParamType.SERVER_CERT_HASH_SHA512: "the server certificate's SHA-512 hash",
    ParamType.REQUEST_TIMEOUT: "the HTTPS timeout",
    ParamType.USER_NAME: "the HTTP user name",
    ParamType.PASSWORD: "the HTTP password",
}


@dataclass(frozen=True)
class UefiParam:
    """One parameter.

    Attributes:
        type: a :class:`ParamType` number (other numbers decode, but do not validate).
        value: its bytes.
        vendor: 0x8086 for every parameter AMT defines.
    """

    type: int
    value: bytes
    vendor: int = VENDOR_INTEL

    @classmethod
    def text(cls, kind: ParamType, value: str) -> UefiParam:
        """A string parameter (UTF-8, no terminator)."""
        return cls(int(kind), value.encode("utf-8"))

    @classmethod
    def u16(cls, kind: ParamType, value: int) -> UefiParam:
        """A little-endian u16 parameter."""
        if not 0 <= value <= 0xFFFF:
            raise UefiParamError(f"{NAMES.get(kind, 'the value')} must be 0-65535, not {value}.")
        return cls(int(kind), struct.pack("<H", value))

    @classmethod
    def boolean(cls, kind: ParamType, value: bool) -> UefiParam:
        """A one-byte boolean parameter."""
        return cls(int(kind), b"\x01" if value else b"\x00")


# -- encode / decode ------------------------------------------------------------------------------
def encode_params(params: Iterable[UefiParam]) -> bytes:
    """The TLV bytes of ``params`` in order (no validation: see :func:`validate_params`)."""
    return b"".join(HEADER.pack(p.vendor, p.type, len(p.value)) + p.value for p in params)


def decode_params(data: bytes) -> tuple[UefiParam, ...]:
    """Read TLV bytes.

    Raises:
        UefiParamError: a header or a value is cut short, or there are more than
            :data:`MAX_PARAMS` parameters.
    """
    params: list[UefiParam] = []
    offset = 0
    while offset < len(data):
        if len(params) >= MAX_PARAMS:
            raise UefiParamError(f"The UEFI boot parameters hold more than {MAX_PARAMS} entries.")
        if offset + HEADER.size > len(data):
            raise UefiParamError(
                f"The UEFI boot parameters end inside an entry header at byte {offset} of {len(data)}."
            )
        vendor, kind, length = HEADER.unpack_from(data, offset)
        offset += HEADER.size
        if length > len(data) - offset:
            raise UefiParamError(
                f"UEFI boot parameter {kind} claims {length} bytes but only {len(data) - offset} follow."
            )
        params.append(UefiParam(kind, bytes(data[offset : offset + length]), vendor))
        offset += length
    return tuple(params)


def to_base64(params: Iterable[UefiParam]) -> str:
    """``UefiBootParametersArray`` text for ``params``."""
    return base64.b64encode(encode_params(params)).decode("ascii")


def from_base64(text: str) -> tuple[UefiParam, ...]:
    """Read ``UefiBootParametersArray`` text.

    Raises:
        UefiParamError: not base64, or not a TLV list.
    """
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UefiParamError("UefiBootParametersArray is not base64.") from None
    return decode_params(raw)


# -- validation ----------------------------------------------------------------------------------
def check_https_url(url: str) -> str:
    """Check a boot URL as AMT takes it (type 1) and return it.

    Raises:
        UefiParamError: not ``https://HOST/...``, not printable ASCII, or over 300 bytes.
    """
    if not url.isascii() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UefiParamError(
            "The boot URL must be printable ASCII without spaces; percent-encode other characters."
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UefiParamError(
            f"The boot URL {url!r} is not a valid URL (check the brackets of an IPv6 address)."
        ) from None
    if parts.scheme.lower() != "https":
        raise UefiParamError(
            f"The boot URL must start with https:// (One Click Recovery boots over HTTPS only), not {url!r}."
        )
    if not parts.hostname:
        raise UefiParamError(f"The boot URL {url!r} names no server.")
    try:
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        raise UefiParamError(f"The boot URL {url!r} has an invalid port.") from None
    if len(url) > MAX_URL_BYTES:
        raise UefiParamError(f"The boot URL is {len(url)} bytes long; AMT takes at most {MAX_URL_BYTES}.")
    return url


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_one(param: UefiParam) -> None:
    kind, value = param.type, param.value
    if param.vendor != VENDOR_INTEL:
        raise UefiParamError(
            f"UEFI boot parameter {kind} has vendor {param.vendor:#06x}, not Intel's 0x8086."
        )
    if kind not in MAX_SIZES:
        raise UefiParamError(f"UEFI boot parameter type {kind} is not one AMT knows.")
    name, limit = NAMES[kind], MAX_SIZES[kind]
    if kind in FIXED_SIZE and len(value) != limit:
        raise UefiParamError(f"{_cap(name)} must be exactly {limit} bytes, not {len(value)}.")
    if len(value) > limit:
        raise UefiParamError(f"{_cap(name)} is {len(value)} bytes; AMT takes at most {limit}.")
    if not value:
        raise UefiParamError(f"{_cap(name)} is empty.")
    if kind == ParamType.SYNC_ROOT_CA and value not in (b"\x00", b"\x01"):
        raise UefiParamError(f"The sync-root-CA switch must be 0 or 1, not {value[0]}.")
    if kind == ParamType.SERVER_NAME_VERIFY_METHOD and struct.unpack("<H", value)[0] not in (1, 2, 3):
        raise UefiParamError("The server name check must be 1 (full name), 2 (domain suffix) or 3 (other).")
    if kind == ParamType.NETWORK_DEVICE_PATH:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            raise UefiParamError("The boot URL must be printable ASCII.") from None
        check_https_url(text)


def validate_params(params: Sequence[UefiParam], count: int | None = None) -> None:
    """Check a parameter list as AMT does before storing it.

    Args:
        params: the decoded list.
        count: ``UefiBootNumberOfParams`` as sent, checked against the list when given.

    Raises:
        UefiParamError: the first rule broken (module docstring).
    """
    if count is not None and count != len(params):
        raise UefiParamError(
            f"UefiBootNumberOfParams says {count} but UefiBootParametersArray holds {len(params)}."
        )
    seen: set[int] = set()
    for param in params:
        _check_one(param)
        if param.type in seen:
            raise UefiParamError(f"{_cap(NAMES[param.type])} is given twice.")
        seen.add(param.type)
    has_url = ParamType.NETWORK_DEVICE_PATH in seen
    has_path = ParamType.FILE_DEVICE_PATH in seen
    if has_path and ParamType.DEVICE_PATH_LENGTH not in seen:
        raise UefiParamError("A UEFI device path needs its length (parameter 3) beside it.")
    if not has_url and not has_path:
        raise UefiParamError("The UEFI boot parameters need an HTTPS URL or a UEFI device path.")
    if has_url and has_path:
        raise UefiParamError("The UEFI boot parameters name both an HTTPS URL and a local device path.")


# -- HTTPS boot ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpsBootParams:
    """What an HTTPS boot parameter list says.

    Attributes:
        url: the URL (type 1).
        sync_root_ca: the firmware gets AMT's trusted roots (type 20).
        timeout: the HTTPS request timeout in seconds (type 30), or None.
        user: the HTTP user name (type 40), or None.
        password: the HTTP password (type 41), or None.
    """

    url: str
    sync_root_ca: bool = True
    timeout: int | None = None
    user: str | None = None
    password: str | None = None


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Take ``user:password@`` out of a URL: ``(url without them, user, password)``.

    The URL AMT hands the firmware carries no credentials; they go in parameters 40 and 41.
    Percent-escapes in them are decoded.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None, None  # check_https_url says what is wrong with it
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) if sep else None


def https_boot_params(
    url: str,
    *,
    timeout: int | None = None,
    user: str | None = None,
    password: str | None = None,
    sync_root_ca: bool = True,
) -> tuple[UefiParam, ...]:
    """The parameter list of an HTTPS boot, in the order consoles send it: 1, 20, [30], [40, 41].

    Args:
        url: the ``https://`` URL of the EFI image; ``user:password@`` in it moves to 40/41.
        timeout: the HTTPS request timeout in seconds (0: the firmware's default); None leaves
            the parameter out (AMT 16 does not take it).
        user: the HTTP user name (overrides one in the URL).
        password: the HTTP password (overrides one in the URL).
        sync_root_ca: hand AMT's trusted root certificates to the firmware (every console
            sends 1: the firmware then trusts the server whose root was added to AMT).

    Raises:
        UefiParamError: the URL, the credentials or the timeout break a rule.
    """
    clean, url_user, url_password = split_credentials(url)
    check_https_url(clean)
    user = user if user is not None else url_user
    password = password if password is not None else url_password
    if password is not None and user is None:
        raise UefiParamError("An HTTP password needs a user name too (https://USER:PASSWORD@server/...).")
    params = [
        UefiParam.text(ParamType.NETWORK_DEVICE_PATH, clean),
        UefiParam.boolean(ParamType.SYNC_ROOT_CA, sync_root_ca),
    ]
    if timeout is not None:
        params.append(UefiParam.u16(ParamType.REQUEST_TIMEOUT, timeout))
    if user is not None:
        params.append(UefiParam.text(ParamType.USER_NAME, user))
    if password is not None:
        params.append(UefiParam.text(ParamType.PASSWORD, password))
    validate_params(params)
    return tuple(params)


def read_https_boot(params: Sequence[UefiParam]) -> HttpsBootParams | None:
    """What an (already validated) list says about an HTTPS boot; None when it names no URL."""
    by_type = {p.type: p.value for p in params}
    url = by_type.get(ParamType.NETWORK_DEVICE_PATH)
    if url is None:
        return None
    timeout = by_type.get(ParamType.REQUEST_TIMEOUT)
    user = by_type.get(ParamType.USER_NAME)
    password = by_type.get(ParamType.PASSWORD)
    return HttpsBootParams(
        url=url.decode("ascii", "replace"),
        sync_root_ca=by_type.get(ParamType.SYNC_ROOT_CA, b"\x00") == b"\x01",
        timeout=struct.unpack("<H", timeout)[0] if timeout is not None and len(timeout) == 2 else None,
        user=user.decode("utf-8", "replace") if user is not None else None,
        password=password.decode("utf-8", "replace") if password is not None else None,
    )
