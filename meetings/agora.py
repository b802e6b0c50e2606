"""Build Agora RTC tokens (AccessToken2 "007" and legacy "006") for meeting clients.

The tests read them back with ``tests/meetings/agora_decode.py``.
"""

from __future__ import annotations

import base64
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
