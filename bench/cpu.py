"""CPU time read from ``/proc``: of one process, of the machine's shared services, of the whole machine.

The machine is shared, so every delivery step says who kept its cores busy: the servers measured, the
load generator, PostgreSQL, Redis, and everything else ("other").
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Processes that share the machine with the servers and are worth naming, by their command name: the
# servers' PostgreSQL and Redis (on a shared machine these serve others too, so their share is an upper bound).
SHARED_SERVICES = {"postgres": ("postgres",), "redis": ("redis-server",)}


def _stat_fields(pid: int | str) -> tuple[str, list[str]]:
    comm, fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    return comm.split("(", 1)[1], fields.split()


def process_cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)[1]
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _services_cpu_seconds() -> dict[str, float]:
    """CPU seconds of every process of each shared service, with what its exited children used.

    The children's part (cutime + cstime, counted when a parent reaps them) keeps a PostgreSQL backend
    that ended between two readings in the figure: the postmaster is a postgres process too.
    """
    seconds = dict.fromkeys(SHARED_SERVICES, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm, fields = _stat_fields(entry.name)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # it exited while we looked
        for service, names in SHARED_SERVICES.items():
            if comm in names:
                seconds[service] += sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS
    return seconds


def _machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _CLOCK_TICKS


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds used so far by the named process groups, the shared services and the whole machine."""

    at: float
    groups: dict[str, float]
    machine: float

    @classmethod
    def now(cls, pids_by_group: dict[str, list[int]]) -> "CpuReading":
        groups = {name: sum(process_cpu_seconds(pid) for pid in pids) for name, pids in pids_by_group.items()}
        return cls(at=time.monotonic(), groups=groups | _services_cpu_seconds(), machine=_machine_busy_seconds())

    def cores_since(self, before: "CpuReading") -> dict[str, float]:
        """Cores each group kept busy between two readings (1.0 is one core); "other" is what nobody named used."""
        elapsed = self.at - before.at
        cores = {name: round((self.groups[name] - before.groups[name]) / elapsed, 3) for name in self.groups}
        machine = (self.machine - before.machine) / elapsed
        cores["other"] = round(max(machine - sum(cores.values()), 0.0), 3)
        cores["machine"] = round(machine, 3)
        return cores
