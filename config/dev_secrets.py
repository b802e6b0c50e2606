"""Keys for a development installation (DEBUG on): random, made once per checkout into ``.dev-secrets/``.

A key written in the repository would be the same on every installation, so whatever it signs (JWTs
above all) would be accepted by every other development server someone can reach. Production never
reads these files: it takes its keys from the environment or refuses to start (config/settings.py).
"""

import os
import secrets
from pathlib import Path


def dev_secret(directory: Path, name: str) -> str:
    """The key ``name`` kept in ``directory``, made there the first time any process asks for it."""
    path = directory / name
    if not path.exists():
        directory.mkdir(mode=0o700, exist_ok=True)
        candidate = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            # Servers and the test process start together: the first link wins, the others read its key.
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()
