"""Fault injection for chaos experiments: the faults in force, as a lease file under the data dir.

``bakusoku chaos`` (through the admin token's ``/v1/faults``) writes the faults; the adapters of
every process of a ``bakusoku up`` read them: the database engine (``db.cut``, ``db.slow``), the
pipeline's object store (``store.fail``, ``store.slow``), the invoker of the workflow's tasks
(``function.throttle``) and the main process's fault agent (``workers.kill``). Each fault carries its
own expiry, so it ends by itself even when whoever injected it is gone. On AWS the same faults are
AWS FIS experiment templates in the stack (``bakusoku.deploy.chaos``).
"""

from bakusoku.faults.control import FaultControl, fault_control
from bakusoku.faults.model import KINDS, Fault, FaultError

__all__ = ["KINDS", "Fault", "FaultControl", "FaultError", "fault_control"]
