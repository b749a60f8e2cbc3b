"""permessage-deflate (RFC 7692) as the server negotiates it, per socket path.

uvicorn offers one setting for every socket: 4 KiB windows both ways (``max_window_bits=12``) and every
message compressed. What suits a co-browsing server differs by direction:

- **What pages send us** (``client_max_window_bits``): the visitor's recording, the bulk of what the server
  receives. A page may compress it with a 32 KiB window (15 bits) on ``/ws/visitor``: rrweb repeats node
  shapes and attribute names far apart, and a larger window finds them (measured on the reference session
  of bench/wire_bytes.py: 0.195 of raw with 12 bits, 0.160 with 15). It costs the server 28 KiB more of
  inflate window per visitor socket. Consoles (``/ws/agent``, ``/ws/guest``) send little: 4 KiB as before.
- **What we send** (``server_max_window_bits=12``, 4 KiB, unchanged): a deflate stream per socket is its
  window and hash tables (about 38 KiB with ``memLevel`` 5), and each agent socket keeps one.
- **Small messages go uncompressed**: deflating a message costs 15-20 us whatever its size up to a few
  hundred bytes (most of it the sync flush that ends each message), and such messages are most of what a
  console is sent (a pointer move, a keystroke: 200-700 B). Relaying them to thousands of consoles, deflate
  was a quarter of the server's CPU (py-spy, 1,000 sessions in bench/capacity.py). Messages under
  :data:`PLAIN_BELOW` bytes go as they are: on the benchmark's frames (194-733 B) that is 4 us of deflate
  per frame on average instead of 16, for a console's wire carrying 0.85 of those frames' size instead of
  0.21 (a few kB/s more for a busy page; snapshots and large batches are still compressed). RFC 7692 lets a
  sender leave any message uncompressed (RSV1 unset); the other side's window simply does not see it.
- **Nothing sent to a visitor's page is compressed**: the page gets control messages only (``started``,
  ``agents``, snapshot requests, session messages), short and rare; not compressing them means its socket
  never allocates a deflate stream, about 38 KiB less per idle session. (Compression stays negotiated: the
  page still compresses what it sends.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from websockets.extensions.base import Extension, ServerExtensionFactory
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import CTRL_OPCODES, Frame, Opcode

#: Messages shorter than this many bytes are sent uncompressed.
PLAIN_BELOW = 512
#: zlib settings of the deflate streams the server keeps (uvicorn's): 5 is about half the memory of the
#: default 8 for a few percent of ratio.
COMPRESS_SETTINGS = {"memLevel": 5}

#: Socket paths whose clients may compress with a 32 KiB window and get nothing compressed back.
VISITOR_PATHS = frozenset({"/ws/visitor"})


class SmallFramesPlain(PerMessageDeflate):
    """permessage-deflate that sends messages under :data:`PLAIN_BELOW` bytes as they are."""

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode in CTRL_OPCODES or frame.opcode is Opcode.CONT or not frame.fin:
            return super().encode(frame)
        if len(frame.data) < PLAIN_BELOW:
            return frame
        return super().encode(frame)


class SendPlain(PerMessageDeflate):
    """permessage-deflate that inflates what it receives and sends every message uncompressed; it never
    creates the deflate stream it does not use."""

    def __init__(
        self,
        remote_no_context_takeover: bool,
        local_no_context_takeover: bool,
        remote_max_window_bits: int,
        local_max_window_bits: int,
        compress_settings: dict[Any, Any] | None = None,
    ) -> None:
        # "no context takeover" on our side is what keeps PerMessageDeflate from creating its encoder up
        # front; encode() below never needs one. What was negotiated is kept for the record.
        super().__init__(
            remote_no_context_takeover, True, remote_max_window_bits, local_max_window_bits, compress_settings
        )
        self.local_no_context_takeover = local_no_context_takeover

    def encode(self, frame: Frame) -> Frame:
        return frame


class _Factory(ServerPerMessageDeflateFactory):
    """websockets' server factory, answering with ``extension`` (a :class:`PerMessageDeflate` subclass)."""

    def __init__(self, extension: type[PerMessageDeflate], client_max_window_bits: int) -> None:
        super().__init__(
            server_max_window_bits=12,
            client_max_window_bits=client_max_window_bits,
            compress_settings=COMPRESS_SETTINGS,
        )
        self.extension = extension

    def process_request_params(
        self, params: Sequence[tuple[str, str | None]], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[tuple[str, str | None]], PerMessageDeflate]:
        response, negotiated = super().process_request_params(params, accepted_extensions)
        if not isinstance(negotiated, PerMessageDeflate):  # pragma: no cover - websockets' own type
            return response, negotiated
        # super() made a PerMessageDeflate with the negotiated parameters: make ours with the same (its
        # zlib streams are created on construction, so the first one's are simply dropped)
        return response, self.extension(
            negotiated.remote_no_context_takeover,
            negotiated.local_no_context_takeover,
            negotiated.remote_max_window_bits,
            negotiated.local_max_window_bits,
            negotiated.compress_settings,
        )


VISITOR_DEFLATE: Sequence[ServerExtensionFactory] = [_Factory(SendPlain, client_max_window_bits=15)]
CONSOLE_DEFLATE: Sequence[ServerExtensionFactory] = [_Factory(SmallFramesPlain, client_max_window_bits=12)]


def extensions_for(path: str) -> Sequence[ServerExtensionFactory]:
    """The permessage-deflate the server offers a socket to ``path``."""
    return VISITOR_DEFLATE if path in VISITOR_PATHS else CONSOLE_DEFLATE
