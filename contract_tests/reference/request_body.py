"""Reading an ASGI request body the way fronts do: buffered whole (and handed on again), or read and discarded
before an early answer (a lingering close: closing a connection with unread request bytes resets it, and the client
loses the answer)."""

from __future__ import annotations

from starlette.types import Message, Receive


async def buffered(receive: Receive, limit: int | None = None) -> tuple[bytes | None, bool]:
    """The whole request body, and whether it stayed within *limit* bytes (reading stops at the first chunk over
    it). None when the client went away first."""
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, True
        if message["type"] != "http.request":
            return b"".join(parts), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            if message.get("more_body"):
                await discard(receive)
            return None, False
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts), True


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives *body* once, as one message, then whatever the connection says next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def discard(receive: Receive, limit: int = 8 * 1024 * 1024) -> None:
    """Read and drop what the client is still sending, up to *limit* bytes (nginx's lingering_close, Go's
    closeWriteAndWait). uvicorn stops delivering the body once an answer is sent, so this comes first."""
    drained = 0
    while drained < limit:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
        drained += len(message.get("body", b""))
