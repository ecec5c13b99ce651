"""Locust user for benchmarks/peers.py: FastHttpUser, no wait, one GET.

The path comes from the environment (Z6_PEERS_PATH) so that one file serves the
throughput pass ("/") and the latency pass ("/delay/10ms").
"""

import os

from locust import FastHttpUser, constant, task

_PATH = os.environ.get("Z6_PEERS_PATH", "/")


class PeerUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get(_PATH)
