"""The scenarios of chaos/run, one file each, in the order a full run takes them.

Window scenarios run one after another in the main thread while the stream of plain jobs and
orchestration runs flows; lane scenarios run on threads of their own with dedicated workers
(see chaos/README.md).
"""

from . import (baseline, kill_worker, kill_coordinator, kill_worker_alone, stop_worker, ignores_sigterm,
               setsid_descendant, poison_output, lost_reply, restart_postgres, terminate_backends,
               postgres_outage, pgbouncer)

MODULES = (baseline, kill_worker, kill_coordinator, kill_worker_alone, stop_worker, ignores_sigterm,
           setsid_descendant, poison_output, lost_reply, restart_postgres, terminate_backends, postgres_outage,
           pgbouncer)


def all_scenarios():
    return [module.SCENARIO for module in MODULES]
