"""Build Agora RTC tokens (AccessToken2 "007" and legacy "006") for meeting clients.

The decoders and verifiers exist so tests and benchmarks can check tokens offline.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import struct
import time
import zlib
from dataclasses import dataclass, field
from hashlib import sha256

from agora_token_builder.RtcTokenBuilder import Role_Publisher, RtcTokenBuilder

SERVICE_RTC = 1

PRIVILEGE_JOIN_CHANNEL = 1
PRIVILEGE_PUBLISH_AUDIO = 2
PRIVILEGE_PUBLISH_VIDEO = 3
PRIVILEGE_PUBLISH_DATA = 4
PUBLISHER_PRIVILEGES = (
    PRIVILEGE_JOIN_CHANNEL,
    PRIVILEGE_PUBLISH_AUDIO,
    PRIVILEGE_PUBLISH_VIDEO,
    PRIVILEGE_PUBLISH_DATA,
)

UID_MAX = 2**32 - 1
SUPPORTED_VERSIONS = ("007", "006")

_VERSION_LENGTH = 3
_APP_ID_LENGTH_006 = 32
# Same range as Agora's reference builders, so generated salts look like theirs.
_SALT_MAX = 99_999_999


def rtc_uid_for_user(user_id: int) -> int:
    """Return the user's own stable uid: the user id itself while it fits in 1..2**32-1, folded after.

    Never 0, which Agora reads as "any uid": a token for uid 0 would work for anyone in the channel.
    """
    return (user_id - 1) % UID_MAX + 1


def _pack_uint16(value: int) -> bytes:
    return struct.pack("<H", value)


def _pack_uint32(value: int) -> bytes:
    return struct.pack("<I", value)


def _pack_string(value: bytes) -> bytes:
    return _pack_uint16(len(value)) + value


def _pack_map_uint32(mapping: dict[int, int]) -> bytes:
    # Agora signs the map in ascending key order; any other order changes the signature.
    items = sorted(mapping.items())
    return _pack_uint16(len(items)) + b"".join(_pack_uint16(key) + _pack_uint32(value) for key, value in items)


def _uid_string(uid: int) -> str:
    # Agora encodes uid 0 ("any uid") as the empty string, not "0".
    return "" if uid == 0 else str(uid)


class _Reader:
    """Sequential little-endian reader that fails loudly on truncated payloads."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def _take(self, size: int) -> bytes:
        end = self._position + size
        if end > len(self._data):
            raise ValueError("token payload is truncated")
        chunk = self._data[self._position : end]
        self._position = end
        return chunk

    def uint16(self) -> int:
        return struct.unpack("<H", self._take(2))[0]

    def uint32(self) -> int:
        return struct.unpack("<I", self._take(4))[0]

    def string(self) -> bytes:
        return self._take(self.uint16())

    def map_uint32(self) -> dict[int, int]:
        mapping = {}
        for _ in range(self.uint16()):
            key = self.uint16()
            mapping[key] = self.uint32()
        return mapping

    def rest(self) -> bytes:
        return self._take(len(self._data) - self._position)

    def expect_end(self) -> None:
        if self._position != len(self._data):
            raise ValueError("token payload has trailing bytes")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("token body is not valid base64") from exc


def _signing_key_007(app_certificate: str, issue_ts: int, salt: int) -> bytes:
    key = hmac.new(_pack_uint32(issue_ts), app_certificate.encode(), sha256).digest()
    return hmac.new(_pack_uint32(salt), key, sha256).digest()


@dataclass
class AccessToken2:
    """Builder for an AccessToken2 ("007") token with explicit timing and salt.

    ``expire`` and the privilege values are lifetimes in seconds relative to
    ``issue_ts``, as the 007 format defines them.
    """

    app_id: str
    app_certificate: str
    issue_ts: int
    expire: int
    salt: int
    _services: dict[int, bytes] = field(default_factory=dict, init=False, repr=False)

    def add_rtc_service(self, channel_name: str, uid: int, privileges: dict[int, int]) -> None:
        """Grant RTC ``privileges`` (privilege id -> lifetime seconds) for one channel and uid."""
        self._services[SERVICE_RTC] = (
            _pack_uint16(SERVICE_RTC)
            + _pack_map_uint32(privileges)
            + _pack_string(channel_name.encode())
            + _pack_string(_uid_string(uid).encode())
        )

    def signing_info(self) -> bytes:
        """Return the bytes the signature covers: header fields followed by the services."""
        return (
            _pack_string(self.app_id.encode())
            + _pack_uint32(self.issue_ts)
            + _pack_uint32(self.expire)
            + _pack_uint32(self.salt)
            + _pack_uint16(len(self._services))
            + b"".join(self._services.values())
        )

    def build(self) -> str:
        """Sign and serialise the token as ``"007" + base64(zlib(signature + signing info))``."""
        info = self.signing_info()
        key = _signing_key_007(self.app_certificate, self.issue_ts, self.salt)
        signature = hmac.new(key, info, sha256).digest()
        payload = zlib.compress(_pack_string(signature) + info)
        return "007" + base64.b64encode(payload).decode()


def build_rtc_token(
    *,
    app_id: str,
    app_certificate: str,
    channel_name: str,
    uid: int,
    expires_in: int = 3600,
    version: str = "007",
    issued_at: int | None = None,
    salt: int | None = None,
) -> str:
    """Return a publisher RTC token (join plus publish audio, video and data) for ``uid``.

    For "007" the token and every privilege last ``expires_in`` seconds from
    ``issued_at`` (default: now). For "006" the privileges expire at the absolute
    time ``issued_at + expires_in``; agora_token_builder chooses the 006 salt and
    message timestamp itself, so ``salt`` only applies to "007".

    Raises:
        ValueError: unknown ``version``, ``uid`` outside 0..2**32-1, or an empty
            ``app_id`` or ``app_certificate``.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported Agora token version {version!r}")
    if not 0 <= uid <= UID_MAX:
        raise ValueError(f"uid must be within 0..{UID_MAX}, got {uid}")
    if not app_id or not app_certificate:
        raise ValueError("Agora app id and app certificate must both be set")

    issue_ts = int(time.time()) if issued_at is None else issued_at
    if version == "006":
        return RtcTokenBuilder.buildTokenWithUid(
            app_id, app_certificate, channel_name, uid, Role_Publisher, issue_ts + expires_in
        )

    token = AccessToken2(
        app_id=app_id,
        app_certificate=app_certificate,
        issue_ts=issue_ts,
        expire=expires_in,
        salt=secrets.randbelow(_SALT_MAX) + 1 if salt is None else salt,
    )
    token.add_rtc_service(channel_name, uid, dict.fromkeys(PUBLISHER_PRIVILEGES, expires_in))
    return token.build()


def _split_token_007(token: str) -> tuple[bytes, bytes]:
    if not token.startswith("007"):
        raise ValueError("not a 007 token")
    try:
        payload = zlib.decompress(_b64decode(token[_VERSION_LENGTH:]))
    except zlib.error as exc:
        raise ValueError("007 token body is not zlib data") from exc
    reader = _Reader(payload)
    signature = reader.string()
    return signature, reader.rest()


def _parse_signing_info_007(info: bytes) -> dict:
    reader = _Reader(info)
    decoded: dict = {
        "app_id": reader.string().decode(),
        "issue_ts": reader.uint32(),
        "expire": reader.uint32(),
        "salt": reader.uint32(),
        "services": {},
    }
    for _ in range(reader.uint16()):
        service_type = reader.uint16()
        # Other services carry type-specific trailing fields this module does not model.
        if service_type != SERVICE_RTC:
            raise ValueError(f"unsupported 007 service type {service_type}")
        privileges = reader.map_uint32()
        decoded["services"][service_type] = {
            "channel_name": reader.string().decode(),
            "uid": reader.string().decode(),
            "privileges": privileges,
        }
    reader.expect_end()
    return decoded


def decode_token_007(token: str) -> dict:
    """Decode a 007 token into its header fields, RTC service and raw signature.

    Returns a dict with ``app_id``, ``issue_ts``, ``expire``, ``salt``,
    ``services`` ({1: {"channel_name", "uid", "privileges"}}) and ``signature``.

    Raises:
        ValueError: the token is malformed or holds a non-RTC service.
    """
    signature, info = _split_token_007(token)
    decoded = _parse_signing_info_007(info)
    decoded["signature"] = signature
    return decoded


def verify_token_007(token: str, app_certificate: str) -> bool:
    """Return whether the 007 token's signature was made with ``app_certificate``.

    Raises:
        ValueError: the token is malformed (see ``decode_token_007``).
    """
    signature, info = _split_token_007(token)
    fields = _parse_signing_info_007(info)
    key = _signing_key_007(app_certificate, fields["issue_ts"], fields["salt"])
    return hmac.compare_digest(signature, hmac.new(key, info, sha256).digest())


def _parse_token_006(token: str) -> tuple[dict, bytes]:
    if not token.startswith("006"):
        raise ValueError("not a 006 token")
    body_start = _VERSION_LENGTH + _APP_ID_LENGTH_006
    if len(token) < body_start:
        raise ValueError("006 token is shorter than its app id")
    reader = _Reader(_b64decode(token[body_start:]))
    decoded: dict = {
        "app_id": token[_VERSION_LENGTH:body_start],
        "signature": reader.string(),
        "crc_channel": reader.uint32(),
        "crc_uid": reader.uint32(),
    }
    message = reader.string()
    reader.expect_end()
    message_reader = _Reader(message)
    decoded["salt"] = message_reader.uint32()
    decoded["ts"] = message_reader.uint32()
    decoded["privileges"] = message_reader.map_uint32()
    message_reader.expect_end()
    return decoded, message


def decode_token_006(token: str) -> dict:
    """Decode a 006 token.

    Returns a dict with ``app_id``, ``signature``, ``crc_channel``, ``crc_uid``,
    ``salt``, ``ts`` and ``privileges`` (privilege id -> absolute expiry).

    Raises:
        ValueError: the token is malformed.
    """
    return _parse_token_006(token)[0]


def verify_token_006(token: str, app_certificate: str, channel_name: str, uid: int) -> bool:
    """Return whether the 006 token was signed with ``app_certificate`` for this channel and uid.

    Raises:
        ValueError: the token is malformed (see ``decode_token_006``).
    """
    decoded, message = _parse_token_006(token)
    channel = channel_name.encode()
    uid_bytes = _uid_string(uid).encode()
    expected = hmac.new(
        app_certificate.encode(), decoded["app_id"].encode() + channel + uid_bytes + message, sha256
    ).digest()
    # The CRCs are unsigned routing hints; checking them too rejects tokens whose hints were altered.
    return (
        hmac.compare_digest(decoded["signature"], expected)
        and decoded["crc_channel"] == zlib.crc32(channel)
        and decoded["crc_uid"] == zlib.crc32(uid_bytes)
    )
