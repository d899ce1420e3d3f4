"""Cold upstream connections and the quota: a burst whose first calls must open their connections
(TCP, then a slow TLS handshake, as against a distant endpoint) still stays within Alibaba's
10 calls per sliding second as the upstream counts them, on arrival.

A relay in front of the TLS emulator holds the server's first bytes on each new connection, so
every handshake takes HANDSHAKE_DELAY longer while requests on kept-alive connections pass at
once. Slots alone are spaced by 1 s + 250 ms margin; a 300 ms handshake on the first calls would
put 11 arrivals into one second and one call would be throttled and retried. The gateway paces
requests on when they actually leave (after the handshake), so the emulator sees exactly one call
per job and never more than 10 in a second.
"""
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import Emulator, Gateway, make_tls_files, ota_cancel

HANDSHAKE_DELAY = 0.3


class SlowHandshakeRelay:
    """127.0.0.1:<port> -> 127.0.0.1:<upstream_port>, holding each connection's first reply bytes
    (the TLS ServerHello) for `delay` seconds."""

    def __init__(self, upstream_port, delay):
        self.upstream_port = upstream_port
        self.delay = delay
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.delay),
                             daemon=True).start()

    @staticmethod
    def _pump(source, sink, first_delay):
        try:
            while data := source.recv(65536):
                if first_delay:
                    time.sleep(first_delay)
                    first_delay = 0
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.closed = True
        self.listener.close()


def test_a_burst_on_cold_slow_connections_stays_within_quota(processes, tmp_path):
    cert, key = make_tls_files(tmp_path)
    jobs = [f"COLD-{i:03d}" for i in range(30)]
    emulator = Emulator("--qps=10", f"--tls-cert={cert}", f"--tls-key={key}",
                        *(f"--job={job}=dynamic" for job in jobs))
    processes.append(emulator)
    relay = SlowHandshakeRelay(emulator.port, HANDSHAKE_DELAY)
    try:
        gateway = Gateway(None, f"--endpoint=https://127.0.0.1:{relay.port}/", f"--ca-file={cert}",
                          "--qps=10")
        processes.append(gateway)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(
                lambda job: ota_cancel("--target", gateway.target, "--job-id", job,
                                       "--timeout", "30s"), jobs))
        failures = [r.stderr for r in results if r.returncode != 0]
        assert not failures, failures[:3]
    finally:
        relay.stop()

    calls = [c for c in emulator.calls() if c.get("action") == "CancelOTAStrategyByJob"]
    first = min(c["time_us"] for c in calls)
    timeline = sorted((round((c["time_us"] - first) / 1e3, 1), c["job_id"], c["http_status"],
                       c.get("code")) for c in calls)
    assert relay.connections >= 2, "the burst should have needed new connections"
    assert len(calls) == len(jobs), f"a throttled call was retried: {timeline}"
    assert all(c["http_status"] == 200 for c in calls), timeline
    times = [t for t, *_ in timeline]
    busiest = max(sum(1 for u in times[i:] if u < t + 1000) for i, t in enumerate(times))
    print(f"\ncold burst: {len(calls)} calls over {times[-1] / 1e3:.2f}s through "
          f"{relay.connections} new connections, busiest second {busiest}")
    assert busiest <= 10, timeline
