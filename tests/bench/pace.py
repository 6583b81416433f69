# SPDX-License-Identifier: GPL-2.0
"""A paced serial line between GDB and QEMU's UART socket, for make bench.

QEMU hands a UART's bytes to its socket as fast as the guest writes them,
and takes GDB's as fast as GDB sends them: no baud rate. A real 115200 8N1
line carries 11,520 bytes a second each way (ten bits a byte), and a UART
hands them on a FIFO at a time. The relay listens on a port of its own,
connects to QEMU's, and forwards each direction no faster than that: a
byte leaves one byte-time after the one before it, in slices of at most
FIFO bytes (the 16550's receive FIFO), so that a burst arrives as it would
from a cable. It counts the bytes each way, for the bytes per operation
that the bench reports.
"""
import socket
import threading
import time

BAUD = 115200
BYTES_PER_S = BAUD / 10     # 8N1: a start bit, eight data bits, a stop bit
FIFO = 16


class Direction(threading.Thread):
    """One way of the line: from @src to @dst at BYTES_PER_S."""

    def __init__(self, src, dst, counter, rate):
        super().__init__(daemon=True)
        self.src, self.dst, self.counter, self.rate = src, dst, counter, rate

    def run(self):
        due = 0.0      # when the line is free again
        try:
            while True:
                data = self.src.recv(65536)
                if not data:
                    break
                arrived = time.monotonic()
                with self.counter.lock:
                    self.counter.n[self.name] += len(data)
                for i in range(0, len(data), FIFO):
                    part = data[i:i + FIFO]
                    # a byte starts when it arrives or when the line is free
                    # (not when this thread woke: its lateness would add up)
                    due = max(due, arrived) + len(part) / self.rate
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    self.dst.sendall(part)
        except OSError:
            pass
        finally:
            # the session ends both ways: the other direction's recv returns
            for s in (self.src, self.dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {"to_target": 0, "from_target": 0}

    def snapshot(self):
        with self.lock:
            return dict(self.n)


class PacedLink:
    """Listens on 127.0.0.1:port; each client gets a paced line to @target_port.
    bytes() says how many went each way over every connection so far."""

    def __init__(self, target_port, rate=BYTES_PER_S):
        self.target_port, self.rate = target_port, rate
        self.counter = Counter()
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                gdb, _ = self.srv.accept()
            except OSError:
                return
            qemu = socket.create_connection(("127.0.0.1", self.target_port))
            for s in (gdb, qemu):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns += [gdb, qemu]
            for src, dst, name in ((gdb, qemu, "to_target"), (qemu, gdb, "from_target")):
                d = Direction(src, dst, self.counter, self.rate)
                d.name = name
                d.start()

    def bytes(self):
        return self.counter.snapshot()

    def close(self):
        # (close alone does not wake the accept() of the other thread)
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass
