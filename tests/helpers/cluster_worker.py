"""The hostname a Celery worker of the integration cluster reports (AIRFLOW__CORE__HOSTNAME_CALLABLE): its
CLUSTER_WORKER_NAME, so two workers on one machine can be told apart in task instances."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("CLUSTER_WORKER_NAME") or socket.getfqdn()
