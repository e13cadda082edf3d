"""The host name a Celery worker of ``make distributed`` reports for its task instances.

Airflow records ``TaskInstance.hostname`` from ``[core] hostname_callable`` in the worker's task supervisor,
not from Celery's ``-H``; two workers on one machine would both report the machine's name. Each lab worker
points ``AIRFLOW__CORE__HOSTNAME_CALLABLE`` at :func:`worker_name` and sets :data:`WORKER_NAME_VARIABLE`.
"""

from __future__ import annotations

import os
import socket

WORKER_NAME_VARIABLE = "HUBSPOT_COMMERCE_WORKER_NAME"


def worker_name() -> str:
    """This worker's name from the environment, or the machine's fully qualified name outside the lab."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()
