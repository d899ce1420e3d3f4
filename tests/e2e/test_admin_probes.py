"""The admin port under an operator's scanner: idle and half-open TCP connections and a scrape that
reads slowly must not keep /readyz and /healthz from answering, or kubelet would mark every replica
unready and restart it. Each probe must answer within 100 ms while 64 idle and 64 half-open
connections and a slow /metrics reader are held against the port, and the gateway's threads stay
as many as before.
"""
import os
import socket
import time
import urllib.request

import pytest

from conftest import Gateway, free_port

HELD = 64
PROBE_BUDGET = 0.100


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def probe(admin, path):
    started = time.monotonic()
    with urllib.request.urlopen(f"http://{admin}{path}", timeout=5) as resp:
        status = resp.status
        resp.read()
    return status, time.monotonic() - started


@pytest.fixture
def admin_gateway(processes, emulator):
    port = free_port()
    gw = Gateway(emulator, f"--admin-listen=127.0.0.1:{port}")
    processes.append(gw)
    return gw, f"127.0.0.1:{port}"


def hold_connections(admin):
    host, port = admin.split(":")
    held = []
    for i in range(HELD):
        idle = socket.create_connection((host, int(port)), timeout=5)
        held.append(idle)  # connected, says nothing
        half = socket.create_connection((host, int(port)), timeout=5)
        half.sendall(b"GET /readyz HTTP/1.1\r\nHost: scanner\r\n")  # never ends its headers
        held.append(half)
    # A scrape that asks and then does not read (a tiny receive window).
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    slow.connect((host, int(port)))
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow-prometheus\r\n\r\n")
    held.append(slow)
    return held


def test_probes_answer_while_connections_are_held(admin_gateway):
    gateway, admin = admin_gateway
    assert probe(admin, "/readyz")[0] == 200
    threads_before = threads_of(gateway.proc.pid)
    held = hold_connections(admin)
    try:
        time.sleep(0.5)  # let the server take them all in
        worst = 0.0
        for _ in range(10):
            for path in ("/readyz", "/healthz"):
                status, elapsed = probe(admin, path)
                assert status == 200, path
                worst = max(worst, elapsed)
        assert worst < PROBE_BUDGET, f"slowest probe took {worst * 1000:.0f} ms"
        # Bounded threads: holding 129 connections started none.
        assert threads_of(gateway.proc.pid) <= threads_before, (threads_before,
                                                                threads_of(gateway.proc.pid))
        # And /metrics still answers everyone else.
        assert probe(admin, "/metrics")[0] == 200
    finally:
        for s in held:
            s.close()
