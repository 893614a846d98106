"""Python netcore 0.1.3 peer for the Rust interop tests.

    python peer.py serve [--host 127.0.0.1] [--port 0] [--seconds N]
    python peer.py call --connect HOST:PORT --scenario NAME [--timeout SECONDS]
    python peer.py bench --connect HOST:PORT --route size|blob --bytes N [--calls K]
                         [--in-flight C] [--timeout SECONDS]
    python peer.py --switch-interval SECONDS serve|call|bench ...

`serve` prints one line, `listening on HOST:PORT`, then answers the routes echo, size,
blob, slow and stats on every accepted connection until stdin reaches EOF (or --seconds
pass). `call` runs one scenario against a server and prints one JSON line
`{"ok": ..., "scenario": ..., ...details}`; the exit status is 0 when ok, 1 otherwise.
`bench` makes K calls, C at a time, each uploading N bytes to `size` (a tiny reply) or
downloading N bytes from `blob`, and prints one JSON line with the wall time of the
whole run and of each call (connection set-up not included).

Spec references (§) are to docs/python-013-wire-format.md (in this repository).
"""

import argparse
import json
import os
import random
import socket
import sys
import threading
import time

from netcore import Endpoint, Pipe, Response, request

# Our own output lines; sys.stdout itself is pointed at /dev/null in main().
OUT = sys.stdout

# Worker threads per server connection. netcore's default is 1 (§6.3), which would
# handle the requests of one connection strictly one at a time.
SERVER_WORKERS = 64
# The client's workers only run our reply callbacks, which return at once.
CLIENT_WORKERS = 4
# How often a waiting call checks whether the connection is gone.
POLL_SECONDS = 0.1
# Deadline for calls that are expected to get no reply.
SHORT_TIMEOUT = 3.0


def emit_line(text):
    OUT.write(text + "\n")
    OUT.flush()


def socket_pipe(sock):
    """A netcore Pipe over a connected TCP socket.

    netcore's reader assumes recv(n) returns exactly n bytes and breaks on short reads,
    so plain sock.recv must not be used (§9.1). At EOF the read raises, which ends the
    receive thread and, through the send thread, stops the Endpoint (§12.1).
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def recv_exact(n):
        buf = bytearray(n)  # n is 0 for an empty meta; then nothing is read.
        view = memoryview(buf)
        got = 0
        while got < n:
            k = sock.recv_into(view[got:], n - got, socket.MSG_WAITALL)
            if k == 0:
                raise ConnectionError("peer closed the connection")
            got += k
        return bytes(buf)

    # netcore ignores send()'s return value (§2.3), so every piece must go out whole.
    return Pipe(recv_exact, sock.sendall)


# ---------------------------------------------------------------------------- serve


class Stats:
    """Counters shared by all connections of one server process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {"echo": 0, "size": 0}
        self.total_bytes = 0

    def count(self, route, nbytes):
        with self.lock:
            self.requests[route] += 1
            self.total_bytes += nbytes

    def snapshot(self):
        with self.lock:
            return {**self.requests, "total_bytes": self.total_bytes}


def blob_bytes(size):
    """`size` bytes of a fixed pattern (0, 1, … 255, 0, …): what `blob` answers."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def add_routes(endpoint, stats):
    # `request` is netcore's thread-local proxy for the request being handled.
    # request.meta is the body as bytes, and Response sends bytes unchanged (§6.2).

    @endpoint.request("echo")
    def echo():
        stats.count("echo", len(request.meta))
        return Response("echo", request.meta)

    @endpoint.request("size")
    def size():
        stats.count("size", len(request.meta))
        return Response("size", {"size": len(request.meta)})

    @endpoint.request("blob")
    def blob():
        # {"size": N} asks for N bytes back (a download).
        size = int(request.json.get("size", 0))
        return Response("blob", blob_bytes(size))

    @endpoint.request("slow")
    def slow():
        time.sleep(2)
        return Response("slow", request.meta)

    @endpoint.request("stats")
    def stats_route():
        return Response("stats", stats.snapshot())


def serve_connection(sock, stats):
    endpoint = Endpoint(socket_pipe(sock), max_workers=SERVER_WORKERS)
    add_routes(endpoint, stats)
    endpoint.start(block=True)  # returns once the connection is lost and the endpoint stops
    sock.close()


def exit_at_stdin_eof():
    while sys.stdin.buffer.read1(65536):
        pass
    os._exit(0)


def serve(args):
    # netcore's pipe threads are non-daemon and never end (§12.3), so the process stops
    # with os._exit: at stdin EOF, or after --seconds.
    threading.Thread(target=exit_at_stdin_eof, daemon=True).start()
    if args.seconds is not None:
        timer = threading.Timer(args.seconds, os._exit, (0,))
        timer.daemon = True
        timer.start()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    host, port = listener.getsockname()
    emit_line(f"listening on {host}:{port}")

    stats = Stats()
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(sock, stats), daemon=True).start()


# ----------------------------------------------------------------------------- call


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())


class Caller:
    """Request/reply calls with a timeout on top of a netcore Endpoint.

    send(..., blocking_recv=True) spins with no timeout (§6.4), so a call registers a
    reply callback instead (netcore matches replies to callbacks by message_id, §6.3)
    and waits on an Event with its own deadline.
    """

    def __init__(self, sock):
        self.endpoint = Endpoint(socket_pipe(sock), max_workers=CLIENT_WORKERS)
        self.endpoint.start(block=False)

    def call(self, route, data, timeout):
        """Send `data` to `route`; return the reply Request, or None if none came in time."""
        arrived = threading.Event()
        replies = []

        def on_reply(reply):
            replies.append(reply)
            arrived.set()

        # Without blocking_recv, send() always returns a dict (§6.4).
        message_id = self.endpoint.send(route, data, callback=on_reply)["message_id"]
        deadline = Deadline(timeout)
        while not arrived.wait(min(POLL_SECONDS, deadline.remaining())):
            if not self.endpoint.running:
                raise ConnectionError(f"connection lost while waiting for the {route!r} reply")
            if deadline.remaining() == 0:
                # The worker threads call callbacks under endpoint.lock; after this
                # removal no reply can arrive for this call any more.
                with self.endpoint.lock:
                    self.endpoint.response_handlers.pop(message_id, None)
                break
        return replies[0] if replies else None


def scenario_json_echo(caller, deadline):
    sent = {"x": 1, "name": "héllo"}
    reply = caller.call("echo", sent, deadline.remaining())
    if reply is None:
        return {"ok": False, "error": "no reply"}
    ok = reply.route == "echo" and reply.json == sent
    return {"ok": ok, "reply": reply.json, "route": reply.route}


def scenario_raw_echo(caller, deadline):
    sent = bytes(range(256)) * 4
    reply = caller.call("echo", sent, deadline.remaining())
    if reply is None:
        return {"ok": False, "error": "no reply"}
    return {"ok": reply.meta == sent, "bytes": len(reply.meta)}


def scenario_concurrent(caller, deadline):
    count = 50
    results = [None] * count
    start = threading.Barrier(count)

    def one(i):
        start.wait()
        reply = caller.call("echo", {"i": i}, deadline.remaining())
        results[i] = reply.json if reply is not None else None

    began = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(deadline.remaining())
    elapsed = time.monotonic() - began
    wrong = [i for i in range(count) if results[i] != {"i": i}]
    return {"ok": not wrong, "count": count, "seconds": round(elapsed, 3), "failed": wrong}


def scenario_big(caller, deadline):
    size = 1 << 20
    sent = random.Random(7).randbytes(size)

    began = time.monotonic()
    reply = caller.call("echo", sent, deadline.remaining())
    echo_seconds = round(time.monotonic() - began, 3)
    if reply is None:
        return {"ok": False, "bytes": size, "error": "no echo reply", "seconds": echo_seconds}
    if reply.meta != sent:
        return {"ok": False, "bytes": size, "error": f"echo differs ({len(reply.meta)} bytes back)"}

    began = time.monotonic()
    reply = caller.call("size", sent, deadline.remaining())
    size_seconds = round(time.monotonic() - began, 3)
    size_reply = reply.json if reply is not None else None
    return {"ok": size_reply == {"size": size}, "bytes": size, "seconds": echo_seconds,
            "size_reply": size_reply, "size_seconds": size_seconds}


def scenario_unknown_route(caller, deadline):
    # An unknown route gets no reply at all (§6.3), so a short deadline must expire.
    reply = caller.call("no_such_route", {"a": 1}, min(SHORT_TIMEOUT, deadline.remaining()))
    if reply is not None:
        return {"ok": False, "timed_out": False, "error": "unexpected reply"}
    after = {"after": "no_such_route"}
    reply = caller.call("echo", after, deadline.remaining())
    echo_ok = reply is not None and reply.json == after
    return {"ok": echo_ok, "timed_out": True, "echo_after": echo_ok}


def scenario_empty(caller, deadline):
    # Informational: a Python receiver never completes an empty message (§9.3).
    reply = caller.call("echo", b"", min(SHORT_TIMEOUT, deadline.remaining()))
    details = {"ok": True, "timed_out": reply is None}
    if reply is not None:
        details["reply_bytes"] = len(reply.meta)
    return details


def bench(args):
    """K calls, C in flight, each an upload to `size` or a download from `blob`."""
    deadline = Deadline(args.timeout)
    host, _, port = args.connect.rpartition(":")
    if args.route == "size":
        body, expected = random.Random(7).randbytes(args.bytes), {"size": args.bytes}
    else:
        body, expected = {"size": args.bytes}, blob_bytes(args.bytes)
    try:
        sock = socket.create_connection((host, int(port)), timeout=deadline.remaining())
        sock.settimeout(None)
        caller = Caller(sock)
        times = []
        failures = []
        lock = threading.Lock()
        next_call = iter(range(args.calls))

        def worker():
            while True:
                with lock:
                    i = next(next_call, None)
                if i is None or deadline.remaining() == 0:
                    return
                began = time.monotonic()
                reply = caller.call(args.route, body, deadline.remaining())
                took = time.monotonic() - began
                got = None if reply is None else (reply.json if args.route == "size" else reply.meta)
                with lock:
                    times.append(took)
                    if got != expected:
                        failures.append(i)

        began = time.monotonic()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.in_flight)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(deadline.remaining())
        seconds = time.monotonic() - began
        ok = not failures and len(times) == args.calls
        details = {"ok": ok, "seconds": round(seconds, 4), "calls": len(times),
                   "failed": failures, "call_seconds": [round(t, 4) for t in sorted(times)]}
    except Exception as e:
        details = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    ok = details.pop("ok")
    emit_line(json.dumps({"ok": ok, "route": args.route, "bytes": args.bytes, **details}))
    os._exit(0 if ok else 1)


SCENARIOS = {
    "json_echo": scenario_json_echo,
    "raw_echo": scenario_raw_echo,
    "concurrent": scenario_concurrent,
    "big": scenario_big,
    "unknown_route": scenario_unknown_route,
    "empty": scenario_empty,
}


def call(args):
    deadline = Deadline(args.timeout)
    host, _, port = args.connect.rpartition(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=deadline.remaining())
        sock.settimeout(None)  # netcore's receive thread blocks on the socket
        details = SCENARIOS[args.scenario](Caller(sock), deadline)
    except Exception as e:
        details = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    ok = details.pop("ok")
    emit_line(json.dumps({"ok": ok, "scenario": args.scenario, **details}))
    # netcore's pipe threads never end (§12.3).
    os._exit(0 if ok else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--switch-interval", type=float, metavar="SECONDS",
        help="sys.setswitchinterval for this process (Python's default is 0.005): how long a "
             "busy-waiting netcore thread may keep the GIL from one that has I/O to do")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="answer echo/size/slow/stats on every connection")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seconds", type=float, help="exit after this many seconds")
    p.set_defaults(run=serve)

    p = commands.add_parser("call", help="run one scenario against a server")
    p.add_argument("--connect", required=True, metavar="HOST:PORT")
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--timeout", type=float, default=20.0)
    p.set_defaults(run=call)

    p = commands.add_parser("bench", help="time K uploads (size) or downloads (blob)")
    p.add_argument("--connect", required=True, metavar="HOST:PORT")
    p.add_argument("--route", required=True, choices=["size", "blob"])
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--calls", type=int, default=1)
    p.add_argument("--in-flight", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(run=bench)

    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    # netcore prints `[]` (its middleware list) to stdout on every routed request (§6.3),
    # so everything but our own lines (OUT) goes nowhere. Not to stderr: a test that pipes
    # stderr without reading it would in the end block the handler threads on a full pipe.
    sys.stdout = open(os.devnull, "w")
    args.run(args)


if __name__ == "__main__":
    main()
