#!/usr/bin/python3
"""A chatnode client built on Python's websockets (Debian's python3-websockets,
10.x): runs one scenario against a node and prints what the library reports,
one JSON object a line, for tests/system/interop.test.mjs to check.

Usage: client.py SCENARIO URL [LIMIT]   (LIMIT: the node's max_frame_bytes)
"""

import asyncio
import json
import sys

import websockets
from websockets.frames import Opcode
from websockets.legacy.client import WebSocketClientProtocol

DEADLINE = 15  # seconds for a whole scenario; the suite waits a little longer


class Recording(WebSocketClientProtocol):
    """Keeps the frames the library writes and reads, to show how a message
    went on the wire (the library's extension point: create_protocol)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []
        self.received = []

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        self.received.append(frame.opcode.name.lower())
        return frame

    def write_frame_sync(self, fin, opcode, data):
        self.sent.append({"op": Opcode(opcode).name.lower(), "fin": fin, "bytes": len(data)})
        super().write_frame_sync(fin, opcode, data)


def out(**fields):
    print(json.dumps(fields), flush=True)


async def connect(url):
    # No keepalive pings of the library's own: they would hide the node's idle ping.
    ws = await websockets.connect(url, create_protocol=Recording, ping_interval=None, max_size=None)
    await expect(ws, "welcome")
    return ws


async def expect(ws, kind):
    """Reads events (a frame holds one, or a JSON array of several) until one of `kind`."""
    while True:
        parsed = json.loads(await ws.recv())
        for event in parsed if isinstance(parsed, list) else [parsed]:
            if event.get("type") == kind:
                return event


async def close_code(ws):
    """Reads until the node closes; the close code as the library reports it."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        await ws.wait_closed()
        return {"close": closed.rcvd.code if closed.rcvd else None, "close_code": ws.close_code}


def join(name):
    return json.dumps({"type": "join", "room": "interop", "name": name})


async def fragmented(url, limit):
    ws = await connect(url)
    text = join("py-fragments")
    pong = None

    async def fragments():
        # websockets sends an async iterable as one message, one frame a
        # piece (and an empty final frame); a ping goes out between them.
        nonlocal pong
        yield text[:10]
        pong = await ws.ping(b"between")
        yield text[10:20]
        yield text[20:]

    first = len(ws.sent)
    await ws.send(fragments())
    reply = await expect(ws, "joined")
    await asyncio.wait_for(pong, 5)
    out(case="fragmented", frames=ws.sent[first:], reply=reply["type"], pong=True)
    await ws.close()


async def fragmented_over(url, limit):
    ws = await connect(url)
    half = "x" * (limit // 2 + 1)

    async def fragments():
        yield half
        yield half

    try:
        await ws.send(fragments())
    except websockets.ConnectionClosed:
        pass  # the node may close before the last fragment is written
    out(case="fragmented_over", **await close_code(ws))


async def ping(url, limit):
    ws = await connect(url)
    latency = await asyncio.wait_for(await ws.ping(b"interop"), 5)
    out(case="ping", pong=True, latency_ms=round(latency * 1000, 3))
    await ws.close()


async def idle_ping(url, limit):
    ws = await connect(url)
    # Sends nothing: the node pings after half its idle timeout, the library
    # answers. A second ping shows the first pong was heard: without it the
    # node closes at the timeout instead.
    while ws.received.count("ping") < 2:
        if ws.closed:
            raise RuntimeError(f"closed while idle: {ws.close_code}")
        await asyncio.sleep(0.05)
    pongs = sum(1 for f in ws.sent if f["op"] == "pong")
    await ws.send(join("py-idle"))
    reply = await expect(ws, "joined")
    out(case="idle_ping", pings=ws.received.count("ping"), pongs=pongs, reply=reply["type"])
    await ws.close()


def padded(name, size):
    text = join(name)
    return text + " " * (size - len(text))  # JSON allows trailing whitespace


async def at_limit(url, limit):
    ws = await connect(url)
    await ws.send(padded("py-large", limit))
    reply = await expect(ws, "joined")
    text = [f["bytes"] for f in ws.sent if f["op"] == "text"]
    out(case="at_limit", bytes=text[-1], frames=len(text), reply=reply["type"])
    await ws.close()


async def over_limit(url, limit):
    ws = await connect(url)
    try:
        await ws.send(padded("py-large", limit + 1))
    except websockets.ConnectionClosed:
        pass
    out(case="over_limit", bytes=limit + 1, **await close_code(ws))


async def invalid_utf8(url, limit):
    ws = await connect(url)
    # send() only takes str (encoded by Python, always valid) or bytes (a
    # binary frame); the protocol's own frame writer sends the bytes as text.
    await ws.write_frame(True, Opcode.TEXT, b'{"type":"join","room":"interop","name":"\xff\xfe"}')
    out(case="invalid_utf8", **await close_code(ws))


async def protocol_error(url, limit):
    ws = await connect(url)
    # A continuation frame with no message before it, through the same writer.
    await ws.write_frame(True, Opcode.CONT, b"{}")
    out(case="protocol_error", **await close_code(ws))


async def close_normal(url, limit):
    ws = await connect(url)
    await ws.close(1000, "bye")
    out(case="close_normal", close=ws.close_rcvd.code if ws.close_rcvd else None, close_code=ws.close_code)


async def shutdown(url, limit):
    ws = await connect(url)
    out(case="shutdown", ready=True)
    out(case="shutdown", **await close_code(ws))


SCENARIOS = {f.__name__: f for f in [fragmented, fragmented_over, ping, idle_ping, at_limit, over_limit,
                                      invalid_utf8, protocol_error, close_normal, shutdown]}


async def main():
    scenario, url = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    deadline = 60 if scenario == "shutdown" else DEADLINE
    try:
        await asyncio.wait_for(SCENARIOS[scenario](url, limit), deadline)
    except Exception as e:  # reported, for the suite to show
        out(case=scenario, error=f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    asyncio.run(main())
