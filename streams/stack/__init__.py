"""The local stack: a real Kafka broker, Prometheus and Alertmanager as plain
processes on 127.0.0.1, for development, demos and integration tests.

No container engine is assumed. Kafka runs from jars resolved by Maven
(`deploy/kafka/pom.xml`); Prometheus and Alertmanager are the Debian binaries.
Each component is a small class that owns one process:

- `KafkaNode` (`kafka.py`): single-node KRaft broker+controller.
- `PrometheusServer` (`prometheus.py`), `AlertmanagerServer` (`alertmanager.py`).
- `ensure_topics` (`topics.py`): the project's topics, idempotently.

`control.py` composes them into the person-facing `kpi-monitor stack up|down|status`,
which keeps its pids, ports and logs in `var/stack/` (`state.py`).
Every failure is a `StackError` (`errors.py`) whose text says what to do.
"""

from streams.stack.alertmanager import AlertmanagerServer
from streams.stack.errors import StackError
from streams.stack.kafka import KafkaNode, Listener
from streams.stack.prometheus import PrometheusServer
from streams.stack.topics import TopicSpec, default_topics, ensure_topics

__all__ = [
    "AlertmanagerServer",
    "KafkaNode",
    "Listener",
    "PrometheusServer",
    "StackError",
    "TopicSpec",
    "default_topics",
    "ensure_topics",
]
