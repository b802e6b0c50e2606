"""Ablation: the product's delivery sweep served from other git revisions, in the same run as the relay.

A change is measured by the commit that makes it, not by a toggle left in the product: each revision is
checked out into a temporary ``git worktree`` (removed afterwards), its migrations are applied to the
bench database, and it is served by this venv with the same settings environment, seeds and load as the
tree running the bench. Listing the commits of a series oldest first gives one row per change, each
against the relay measured minutes before (``python -m bench --ablation REV1,REV2,...``).

The revisions share the bench database, so they must run on the schema of the tree running the bench
plus, at most, migrations of their own on top of it (applied forward, never undone).
"""

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import REPO_ROOT


@dataclass(frozen=True)
class Revision:
    name: str  # as given on the command line
    commit: str
    subject: str


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def revisions_resolve(names: tuple[str, ...]) -> tuple[Revision, ...]:
    """Each name as a commit, so a typo fails before the run starts and the report names exact commits."""
    revisions = []
    for name in names:
        try:
            commit = _git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
        except subprocess.CalledProcessError:
            raise ValueError(f"not a commit in this repository: {name}") from None
        revisions.append(Revision(name=name, commit=commit, subject=_git("log", "-1", "--format=%s", commit)))
    return tuple(revisions)


@contextmanager
def checked_out(revision: Revision) -> Iterator[Path]:
    """A temporary worktree of ``revision``, detached, removed (with its registration) on the way out."""
    parent = Path(tempfile.mkdtemp(prefix="bench-ablation-"))
    tree = parent / revision.commit[:12]
    try:
        _git("worktree", "add", "--detach", "--quiet", str(tree), revision.commit)
        try:
            yield tree
        finally:
            _git("worktree", "remove", "--force", str(tree))
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def schema_migrate(tree: Path, env: dict[str, str], log_path: Path) -> None:
    """Apply the revision's own migrations to the bench database, as ``make serve`` would before serving it."""
    with open(log_path, "wb") as log:
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=tree,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if migrated.returncode:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"migrate in {tree} exited with {migrated.returncode}:\n{tail}")
