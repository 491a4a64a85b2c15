"""Emulated latency and loss on the sandbox's internet: a userspace forwarder in ``inet``.

The kernel the sandbox runs on has no ``netem`` (and cannot load it), so ``inet`` cannot delay
packets with ``tc``. Instead this module's forwarder, one process in the ``inet`` namespace,
owns a TUN device (``dly0``) and the data plane policy-routes into it exactly the packets that
need a delay: a rule ``iif e<n> from A to B lookup <delay table>`` per tunnel endpoint link whose
pair of public addresses has one, the delay table holding ``default dev dly0``. The forwarder
reads each packet (a whole IPv4 packet, no packet information header), holds it for the pair's
one-way delay (or drops it with the pair's loss probability) and writes it back into the TUN.
The kernel then receives it on ``dly0``, where the ``iif e<n>`` rules no longer match, so it is
routed by the ordinary per-pair rules to the destination endpoint: a packet crosses the
forwarder once per direction, there is no loop, and cuts (blackhole rules) still apply. The
round trips measured through a tunnel prove it: twice the one-way delay plus 1-4 ms (userspace
ESP), where a loop would multiply the delay until the TTL ran out.

Why a TUN and not AF_PACKET on the endpoint links: the ESP-in-UDP packets charon sends leave
the endpoint namespace with their checksum only partly computed (checksum offload on veth); a
packet socket would hand them over like that, and re-injecting them without the offload state
(``PACKET_VNET_HDR``) gets UDP dropped for a bad checksum. A TUN that offers no offloads makes
the kernel complete every checksum before the packet is queued to it, so what the forwarder
writes back is a plain, valid packet. Written packets arrive on ``dly0`` with a source address
that ``inet`` routes out of another link; reverse-path filtering is turned off in ``inet`` (all
and ``dly0``) so that a strict setting inherited from the host never takes them for spoofed.

The forwarder sleeps in ``epoll`` with a timeout of exactly the time until the next packet is
due, and with no timeout when nothing is queued: it uses no CPU when idle. Its queue is bounded
(``MAX_PACKETS`` packets, ``MAX_BYTES`` bytes); what would overflow it is dropped and counted.
It is configured over a Unix socket with one JSON request per connection (``set`` replaces the
whole table of pairs, ``stats`` returns its counters), stops on SIGTERM, and its TUN device
goes away with it. The module is standard library only and runs as a script
(``python delay.py --tun dly0 --control PATH``) so it needs nothing installed in ``inet``.
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import ipaddress
import json
import os
import pathlib
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKETS = 4096
MAX_BYTES = 16 * 1024 * 1024
# Upper bounds of what a pair may ask for: a minute of delay would only fill the queue.
MAX_DELAY_MS = 10_000.0
READ_BATCH = 256
COUNTERS = ("received", "forwarded", "delayed", "lost", "overflow", "write_errors", "passed")


def check_pair(delay_ms: float, loss_pct: float) -> tuple[float, float]:
    """Validated ``(delay_ms, loss_pct)``; a ValueError names what is out of range."""
    delay_ms, loss_pct = float(delay_ms), float(loss_pct)
    if not 0.0 <= delay_ms <= MAX_DELAY_MS:
        raise ValueError(f"one-way delay {delay_ms} ms is outside 0..{MAX_DELAY_MS:.0f} ms")
    if not 0.0 <= loss_pct <= 100.0:
        raise ValueError(f"loss {loss_pct} % is outside 0..100 %")
    return delay_ms, loss_pct


# -- the forwarder (runs inside inet) ----------------------------------------------------------


class _Forwarder:
    def __init__(self, tun_fd: int):
        self.tun = tun_fd
        self.pairs: dict[tuple[bytes, bytes], tuple[float, float]] = {}
        self.queue: list[tuple[float, int, bytes]] = []
        self.queued_bytes = 0
        self.seq = 0
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.random = random.Random()  # noqa: S311 - loss emulation, not cryptography

    def configure(self, pairs: list) -> None:
        table = {}
        for src, dst, asked_ms, asked_loss in pairs:
            delay_ms, loss_pct = check_pair(asked_ms, asked_loss)
            key = (ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
            table[key] = (delay_ms / 1000.0, loss_pct / 100.0)
        self.pairs = table

    def stats(self) -> dict:
        return {
            **self.counters,
            "queued": len(self.queue),
            "pairs": sorted(
                [str(ipaddress.IPv4Address(s)), str(ipaddress.IPv4Address(d)), round(delay * 1000, 3), loss * 100]
                for (s, d), (delay, loss) in self.pairs.items()
            ),
        }

    def _write(self, packet: bytes) -> None:
        try:
            os.write(self.tun, packet)
            self.counters["forwarded"] += 1
        except OSError:
            self.counters["write_errors"] += 1

    def receive(self, now: float) -> None:
        for _ in range(READ_BATCH):
            try:
                packet = os.read(self.tun, 65535)
            except BlockingIOError:
                return
            self.counters["received"] += 1
            rule = self.pairs.get((packet[12:16], packet[16:20])) if packet[:1] and packet[0] >> 4 == 4 else None
            if rule is None:
                self.counters["passed"] += 1
                self._write(packet)
                continue
            delay, loss = rule
            if loss and self.random.random() < loss:
                self.counters["lost"] += 1
                continue
            if delay <= 0:
                self._write(packet)
                continue
            if len(self.queue) >= MAX_PACKETS or self.queued_bytes + len(packet) > MAX_BYTES:
                self.counters["overflow"] += 1
                continue
            self.seq += 1
            heapq.heappush(self.queue, (now + delay, self.seq, packet))
            self.queued_bytes += len(packet)
            self.counters["delayed"] += 1

    def release(self, now: float) -> float | None:
        """Write every packet that is due; the seconds until the next one, or None if none waits."""
        while self.queue and self.queue[0][0] <= now:
            _, _, packet = heapq.heappop(self.queue)
            self.queued_bytes -= len(packet)
            self._write(packet)
        return max(0.0, self.queue[0][0] - now) if self.queue else None

    def control(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        with conn:
            data = b""
            while not data.endswith(b"\n") and len(data) < 1 << 20:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                request = json.loads(data)
                if request.get("op") == "set":
                    self.configure(request["pairs"])
                    reply = {"ok": True}
                elif request.get("op") == "stats":
                    reply = {"ok": True, "stats": self.stats()}
                else:
                    reply = {"ok": False, "error": f"unknown op {request.get('op')!r}"}
            except (ValueError, KeyError, TypeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            conn.sendall(json.dumps(reply).encode() + b"\n")


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def serve(tun_name: str, control_path: pathlib.Path) -> None:
    def terminate(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    tun = open_tun(tun_name)
    control_path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(control_path))
    listener.listen(8)
    forwarder = _Forwarder(tun)
    selector = selectors.EpollSelector()
    selector.register(tun, selectors.EVENT_READ, "tun")
    selector.register(listener, selectors.EVENT_READ, "control")
    timeout = None
    try:
        while True:
            for key, _ in selector.select(timeout):
                if key.data == "tun":
                    forwarder.receive(time.monotonic())
                else:
                    conn, _ = listener.accept()
                    try:
                        forwarder.control(conn)
                    except OSError:
                        pass
            timeout = forwarder.release(time.monotonic())
    finally:
        selector.close()
        listener.close()
        control_path.unlink(missing_ok=True)
        os.close(tun)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tun", required=True)
    parser.add_argument("--control", required=True, type=pathlib.Path)
    args = parser.parse_args(argv)
    serve(args.tun, args.control)


# -- the client (runs in the sandbox) -----------------------------------------------------------


class Delay:
    """The forwarder of one data plane: started in ``inet`` through ``netns_argv``."""

    def __init__(self, netns_argv: list[str], workdir: pathlib.Path, tun: str = "dly0"):
        self.netns_argv = list(netns_argv)
        self.dir = pathlib.Path(workdir)
        self.tun = tun
        self.control_path = self.dir / "delay.sock"
        self.log_path = self.dir / "delay.log"
        self.proc: subprocess.Popen | None = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.control_path.unlink(missing_ok=True)
        script = [sys.executable, "-I", __file__, "--tun", self.tun, "--control", str(self.control_path)]
        argv = [*self.netns_argv, *script]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the delay forwarder exited ({self.proc.returncode}); see {self.log_path}")
            if self.control_path.exists():
                try:
                    self.stats()
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the delay forwarder opened no control socket in {timeout:.0f}s")
            time.sleep(0.05)

    def _request(self, request: dict) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5.0)
            sock.connect(str(self.control_path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if not reply.get("ok"):
            raise ValueError(f"the delay forwarder refused {request.get('op')}: {reply.get('error')}")
        return reply

    def set(self, pairs: dict[tuple[str, str], tuple[float, float]]) -> None:
        """Replace the forwarder's table: ``{(src, dst): (one_way_ms, loss_pct)}``."""
        self._request(
            {"op": "set", "pairs": [[s, d, *check_pair(ms, loss)] for (s, d), (ms, loss) in sorted(pairs.items())]}
        )

    def stats(self) -> dict:
        """Counters (``received``, ``delayed``, ``lost``, ``overflow``, ...), ``queued`` and ``pairs``."""
        return self._request({"op": "stats"})["stats"]

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None
        self.control_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
