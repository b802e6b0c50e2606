"""The page scripts' unit tests (``tests/js/*.test.mjs``, Node's own test runner), run as part of the suite.

They import the modules of ``static/pages/`` that need no browser: the message store, the outbox, the
reconnect policy and socket, typing, and the rule that only ``protocol.js`` names the socket's events.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

JS_TESTS = Path(settings.BASE_DIR) / "tests" / "js"
RUN_SECONDS = 120


def test_page_script_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the page scripts' unit tests: install node (20 or newer)")
        pytest.skip("needs node (20 or newer)")
    run = subprocess.run(
        [node, "--test", str(JS_TESTS)], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    assert run.returncode == 0, f"node --test tests/js/ failed:\n{run.stdout}\n{run.stderr}"
