"""Decoders and verifiers of Agora RTC tokens ("007" and "006"): the tests and the token benchmark read the
tokens ``meetings.agora`` builds back, offline, to check their fields and signatures. The product only
builds tokens; Agora verifies them."""

import base64
import binascii
import hmac
import struct
import zlib
from hashlib import sha256

from meetings.agora import SERVICE_RTC, _signing_key_007, _uid_string

_VERSION_LENGTH = 3
_APP_ID_LENGTH_006 = 32


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
