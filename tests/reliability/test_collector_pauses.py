"""The served application leaves what it loaded out of the cycle collector's scans (config/asgi.py): under load a
full collection came every few seconds and, scanning Django's, DRF's and the apps' objects, held the event loop
for 50-90 ms (docs/performance.md). Checked in a process of its own, as a server loads it."""

import subprocess
import sys

from bench.servers import REPO_ROOT

PROBE = """
import gc
import config.asgi
print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_what_the_server_loaded_is_frozen_and_a_full_collection_scans_little_of_it():
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    frozen, still_scanned = map(int, probe.stdout.split())

    assert frozen > 100_000
    assert still_scanned < frozen / 20
