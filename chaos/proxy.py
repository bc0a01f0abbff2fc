"""A PostgreSQL TCP proxy that loses the reply of one worker turn (chaos scenario lost-reply).

It sits between ONE worker and PostgreSQL: the worker's DATABASE_URL names the proxy's port. It
forwards bytes both ways and parses the framing of the protocol as it goes: the client's startup
packet (int32 length, no type byte; an SSLRequest or GSSENCRequest first gets a one-byte answer),
then messages of a type byte and an int32 length on both sides.

When armed, the next exchange whose SQL text (a Parse 'P' message of the extended protocol, or a
simple Query 'Q') contains ``worker_turn`` is doomed: its messages reach the server, and the
server's reply (everything up to the ReadyForQuery 'Z' of that exchange) is held back. If that
reply claimed at least one job (a DataRow whose second column, the job id, is not NULL), it is
dropped and both sides are closed: the turn committed, but the worker never learns what it
claimed. A reply that claimed nothing is passed on and the proxy stays armed, so the drop lands
on a turn that matters. It fires once per arming.

Used in-process by chaos/scenarios/lost_reply.py (``Proxy.start()`` runs it on a thread of its
own). Standalone: ``python3 chaos/proxy.py --listen 15436 --upstream 127.0.0.1:15435``; SIGUSR1
arms it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct
import threading
import time

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MARKER = b"worker_turn"
# The column of the job id in the reply of a worker turn (SELECT accepted, claim_cursor, id, ...:
# BatonStore WorkerSession.turn), when the reply has no RowDescription to name it.
ID_COLUMN = 2


class Drop:
    """One reply the proxy dropped."""

    def __init__(self, at: float, conn: int, claimed: list[int], rows: int):
        self.at = at            # epoch seconds when both sides were closed
        self.conn = conn        # the proxy's number for the connection
        self.claimed = claimed  # job ids found in the dropped rows (best effort)
        self.rows = rows        # DataRows dropped

    def __repr__(self) -> str:
        return f"Drop(at={self.at:.3f}, conn={self.conn}, claimed={self.claimed}, rows={self.rows})"


class _Conn:
    def __init__(self, number: int):
        self.number = number
        self.startup_done = False
        self.pending_single_byte = 0   # SSL/GSS requests forwarded, answer byte not yet seen
        self.syncs = 0                 # exchanges the server will answer with a 'Z' (startup counts one)
        self.zs = 0                    # 'Z' messages seen from the server
        self.doom_target: int | None = None  # the 'Z' number that ends the doomed exchange
        self.held: list[bytes] = []    # server messages of the doomed exchange, held back
        self.closed = False


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1",
                 listen_port: int = 0, log=None):
        self.upstream = (upstream_host, upstream_port)
        self.listen = (listen_host, listen_port)
        self.port = listen_port
        self.log = log or (lambda message: None)
        self._armed = threading.Event()
        self.drops: list[Drop] = []
        self.passed_turns = 0      # turns seen while armed whose reply claimed nothing
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------------ control (any thread)

    def arm(self) -> None:
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def start(self) -> int:
        """Runs the proxy on a thread of its own; returns the port it listens on."""
        self._thread = threading.Thread(target=self._run_thread, name="chaos-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start listening within 10 s")
        return self.port

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        def shutdown():
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
        try:
            loop.call_soon_threadsafe(shutdown)
        except RuntimeError:
            pass
        if self._thread is not None:
            self._thread.join(5)

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(lambda loop, context: None)   # connections cut at stop() are expected
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except (asyncio.CancelledError, RuntimeError):
            pass
        finally:
            try:
                loop.close()
            except Exception:
                pass

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, *self.listen)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    # ------------------------------------------------------------------ relaying

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = _Conn(self.connections)
        try:
            sreader, swriter = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            cwriter.close()
            return
        self._writers.update((cwriter, swriter))

        def close_both():
            if not conn.closed:
                conn.closed = True
            for writer in (cwriter, swriter):
                try:
                    writer.close()
                except Exception:
                    pass

        up = asyncio.ensure_future(self._client_to_server(conn, creader, swriter, close_both))
        down = asyncio.ensure_future(self._server_to_client(conn, sreader, cwriter, close_both))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            close_both()
            for task in (up, down):
                task.cancel()
            self._writers.discard(cwriter)
            self._writers.discard(swriter)

    async def _client_to_server(self, conn: _Conn, reader, writer, close_both) -> None:
        try:
            while not conn.closed:
                if not conn.startup_done:
                    head = await reader.readexactly(4)
                    (length,) = struct.unpack("!i", head)
                    if length < 8 or length > 10_000:
                        return
                    body = await reader.readexactly(length - 4)
                    (code,) = struct.unpack("!i", body[:4])
                    if code in (SSL_REQUEST, GSSENC_REQUEST):
                        conn.pending_single_byte += 1
                    elif code == CANCEL_REQUEST:
                        pass
                    else:
                        conn.startup_done = True
                        conn.syncs += 1   # the server ends the startup with a ReadyForQuery
                    writer.write(head + body)
                    await writer.drain()
                    continue
                head = await reader.readexactly(5)
                kind = head[:1]
                (length,) = struct.unpack("!i", head[1:])
                body = await reader.readexactly(length - 4) if length > 4 else b""
                if kind in (b"P", b"Q") and self._armed.is_set() and conn.doom_target is None and MARKER in body:
                    # The exchange this message opens ends with the next Sync (or with this Query).
                    conn.doom_target = conn.syncs + 1
                if kind in (b"S", b"Q"):
                    conn.syncs += 1
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError, asyncio.CancelledError):
            return

    async def _server_to_client(self, conn: _Conn, reader, writer, close_both) -> None:
        try:
            while not conn.closed:
                if conn.pending_single_byte:
                    byte = await reader.readexactly(1)
                    conn.pending_single_byte -= 1
                    writer.write(byte)
                    await writer.drain()
                    continue
                head = await reader.readexactly(5)
                kind = head[:1]
                (length,) = struct.unpack("!i", head[1:])
                body = await reader.readexactly(length - 4) if length > 4 else b""
                message = head + body
                target = conn.doom_target
                if target is not None and conn.zs >= target - 1:
                    # A message of the doomed exchange: hold it until its ReadyForQuery.
                    conn.held.append(message)
                    if kind == b"Z":
                        conn.zs += 1
                        claimed, rows = _claimed_ids(conn.held)
                        if claimed:
                            self._armed.clear()
                            self.drops.append(Drop(time.time(), conn.number, claimed, rows))
                            self.log(f"proxy: dropped the reply of a worker turn that claimed {len(claimed)} job(s) "
                                     f"{claimed} on connection {conn.number}; closing both sides")
                            close_both()
                            return
                        # The turn claimed nothing: let it through and stay armed.
                        self.passed_turns += 1
                        for held in conn.held:
                            writer.write(held)
                        conn.held = []
                        conn.doom_target = None
                        await writer.drain()
                    continue
                if kind == b"Z":
                    conn.zs += 1
                writer.write(message)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError, asyncio.CancelledError):
            return


def _column_names(message: bytes) -> list[str]:
    """The field names of a RowDescription ('T') message."""
    body = message[5:]
    (count,) = struct.unpack("!h", body[:2])
    offset = 2
    names = []
    for _ in range(count):
        end = body.index(b"\0", offset)
        names.append(body[offset:end].decode("utf-8", "replace"))
        offset = end + 1 + 18   # table oid, column number, type oid, size, modifier, format
    return names


def _claimed_ids(messages: list[bytes]) -> tuple[list[int], int]:
    """Job ids in the DataRows of a worker_turn reply: the column named `id` (found in the reply's
    RowDescription; the turn also returns `accepted` and `claim_cursor` before it) when not NULL.
    A reply without a RowDescription (the statement was prepared before, and its description
    not asked again) is read by the column worker_turn's query puts it in: the third. A value
    that is neither text digits nor an int8 counts as -1 (claimed, id unreadable)."""
    ids: list[int] = []
    rows = 0
    column = ID_COLUMN
    for message in messages:
        kind = message[:1]
        if kind == b"T":
            try:
                names = _column_names(message)
            except (struct.error, ValueError):
                continue
            if "id" in names:
                column = names.index("id")
            continue
        if kind != b"D":
            continue
        rows += 1
        body = message[5:]
        try:
            (count,) = struct.unpack("!h", body[:2])
            offset = 2
            values = []
            for _ in range(min(count, column + 1)):
                (size,) = struct.unpack("!i", body[offset:offset + 4])
                offset += 4
                if size < 0:
                    values.append(None)
                else:
                    values.append(body[offset:offset + size])
                    offset += size
            if len(values) == column + 1 and values[column] is not None:
                raw = values[column]
                if raw.isdigit():
                    ids.append(int(raw))
                elif len(raw) == 8:
                    ids.append(struct.unpack("!q", raw)[0])
                else:
                    ids.append(-1)
        except struct.error:
            continue
    return ids, rows


def main() -> None:
    parser = argparse.ArgumentParser(description="PostgreSQL proxy that drops the reply of one worker turn (SIGUSR1 arms it)")
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--upstream", default="127.0.0.1:15435", help="HOST:PORT of PostgreSQL")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    proxy = Proxy(host or "127.0.0.1", int(port), listen_port=args.listen,
                  log=lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True))
    signal.signal(signal.SIGUSR1, lambda *_: (proxy.arm(), print("armed", flush=True)))
    proxy.start()
    print(f"listening on 127.0.0.1:{proxy.port}, upstream {args.upstream}; kill -USR1 {__import__('os').getpid()} arms", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
