"""The wire formats of Engine.IO v4 and Socket.IO v5 (socketio/engine.io-protocol, socketio/socket.io-protocol).

Engine.IO packet: one type digit and its data (``4`` + a Socket.IO packet, ``2`` ping, ``3`` pong, …); over
long-polling several go in one body separated by ``\\x1e``, binary ones as ``b`` + base64. Socket.IO packet:
``<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]``. Written here rather than taken from
python-engineio/python-socketio: they are a few dozen lines, and those packages' packet classes come with
their servers and would be two dependencies for the parsing alone.
"""

import json
from dataclasses import dataclass
from typing import Any

# Engine.IO packet types.
OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0123456"
# Socket.IO packet types.
CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = range(7)

RECORD_SEPARATOR = "\x1e"
MAIN_NAMESPACE = "/"
PROBE = "probe"
# The longest ack id the reference parser accepts is a JavaScript safe integer; longer is an invalid packet.
MAX_ACK_ID_DIGITS = 16


class ProtocolError(ValueError):
    """A packet the protocols call invalid: the receiver closes the connection."""


def encode_payload(packets: list[str]) -> str:
    """Engine.IO packets as one long-polling body."""
    return RECORD_SEPARATOR.join(packets)


def decode_payload(body: str) -> list[str]:
    if not body:
        raise ProtocolError("empty payload")
    packets = body.split(RECORD_SEPARATOR)
    for packet in packets:
        if not packet or (packet[0] not in "0123456b"):
            raise ProtocolError("unknown Engine.IO packet type")
    return packets


@dataclass
class SocketIOPacket:
    type: int
    namespace: str = MAIN_NAMESPACE
    data: Any = None  # decoded JSON
    ack_id: int | None = None
    attachments: int = 0

    def encode(self) -> str:
        """The packet's text, to be sent in an Engine.IO message packet (prefix ``4``)."""
        text = str(self.type)
        if self.namespace != MAIN_NAMESPACE:
            text += self.namespace + ","
        if self.ack_id is not None:
            text += str(self.ack_id)
        if self.data is not None:
            text += json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)
        return text


def decode_packet(text: str) -> SocketIOPacket:
    """Parse the Socket.IO packet an Engine.IO message carried, checking what the protocol requires of it."""
    if not text or not text[0].isdigit() or int(text[0]) > BINARY_ACK:
        raise ProtocolError("unknown Socket.IO packet type")
    packet = SocketIOPacket(type=int(text[0]))
    rest = text[1:]
    if packet.type in (BINARY_EVENT, BINARY_ACK):
        count, dash, rest = rest.partition("-")
        if not dash or not count.isdigit():
            raise ProtocolError("a binary packet starts with its number of attachments")
        packet.attachments = int(count)
    if rest.startswith("/"):
        namespace, comma, remainder = rest.partition(",")
        packet.namespace, rest = namespace, remainder if comma else ""
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if digits:
        if digits > MAX_ACK_ID_DIGITS:
            raise ProtocolError("ack id too long")
        packet.ack_id, rest = int(rest[:digits]), rest[digits:]
    if rest:
        try:
            packet.data = json.loads(rest)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError("the payload is not JSON") from exc
    _check(packet)
    return packet


def _check(packet: SocketIOPacket) -> None:
    if packet.type in (EVENT, BINARY_EVENT):
        if not isinstance(packet.data, list) or not packet.data or not isinstance(packet.data[0], str):
            raise ProtocolError("an event's payload is a non-empty array starting with its name")
    elif packet.type in (ACK, BINARY_ACK):
        if not isinstance(packet.data, list) or packet.ack_id is None:
            raise ProtocolError("an ack has an id and an array payload")
    elif packet.type == CONNECT:
        if packet.data is not None and not isinstance(packet.data, dict):
            raise ProtocolError("a CONNECT payload is an object")
    elif packet.type == CONNECT_ERROR:
        raise ProtocolError("CONNECT_ERROR is sent by servers only")
