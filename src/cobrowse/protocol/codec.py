"""Decoding of inbound frames into typed messages, with the close code for every way a frame can be wrong.

One decoder per direction, built once: msgspec validates the tagged union in a single pass and leaves the
rrweb payload of ``events`` as raw bytes.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from .messages import PROTOCOL_VERSION, AgentMessage, Message, VisitorMessage


class CloseCode:
    """WebSocket close codes (docs/protocol.md)."""

    NORMAL = 1000
    TOO_BIG = 1009
    SERVICE = 1011
    MALFORMED = 4000
    UNKNOWN_TYPE = 4001
    VERSION = 4002
    REJECTED = 4003
    TIMEOUT = 4008
    DUPKEY = 4009
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    ENDED = 4410
    OVERLOADED = 4429


class ProtocolError(Exception):
    """A frame or request the protocol refuses: the connection is closed with ``close_code``."""

    def __init__(self, close_code: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.close_code = close_code
        self.code = code
        self.msg = msg


M = TypeVar("M", bound=Message)

_visitor_decoder = msgspec.json.Decoder(VisitorMessage)
_agent_decoder = msgspec.json.Decoder(AgentMessage)
_encoder = msgspec.json.Encoder()


def _decode(decoder: msgspec.json.Decoder[M], frame: bytes | str) -> M:
    try:
        message = decoder.decode(frame)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.endswith("at `$.t`") or "missing required field `t`" in text.lower():
            raise ProtocolError(
                CloseCode.UNKNOWN_TYPE, "unknowntype", f"unknown or missing message type: {text}"
            ) from None
        raise ProtocolError(CloseCode.MALFORMED, "malformed", f"malformed message: {text}") from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(CloseCode.MALFORMED, "malformed", f"frame is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(CloseCode.MALFORMED, "malformed", "frame is nested too deeply") from None
    except UnicodeError:
        raise ProtocolError(CloseCode.MALFORMED, "malformed", "frame is not valid UTF-8 text") from None
    if message.v != PROTOCOL_VERSION:
        raise ProtocolError(
            CloseCode.VERSION,
            "version",
            f"protocol version {message.v} is not supported (use {PROTOCOL_VERSION})",
        )
    return message


def decode_visitor(frame: bytes | str) -> VisitorMessage:
    """Decode a visitor frame or raise :class:`ProtocolError`."""
    message: VisitorMessage = _decode(_visitor_decoder, frame)
    return message


def decode_agent(frame: bytes | str) -> AgentMessage:
    """Decode an agent frame or raise :class:`ProtocolError`."""
    message: AgentMessage = _decode(_agent_decoder, frame)
    return message


def encode(message: Message) -> bytes:
    return _encoder.encode(message)
