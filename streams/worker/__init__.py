"""The stream worker (`kpi-monitor worker`): Kafka records in, KPI values on /metrics out.

Rooms, each a thin adapter around the pure `kpi/` core (docs/architecture.md draws them):

- `engines.py`: `PartitionEngines`, one `kpi.engine.Engine` per input partition; records in,
  dead letters and counters out, the worker's partial evaluated. No Faust, no Kafka.
- `checkpoints.py`: `CheckpointStore`, durable state: restore on assignment, checkpoint,
  then commit the offsets.
- `exchange.py`: `PartialsExchange`, publishes this worker's partial, follows everyone's,
  and holds the exporter role; `partials.py`: `PartialsMerger`, the merge of all partials.
- `metrics.py`: the Prometheus collector and registry served on /metrics.
- `batching.py`: the batch consumer inside Faust, and the `BatchHooks` it calls.
- `app.py`: the Faust app that wires them; `kafka.py`: the adapters from Faust and aiokafka
  to the small protocols the parts above are written against; `clients.py`: Kafka
  connection settings; `topics.py`: topic administration and the internal topics.
- `preflight.py`: checks Kafka before starting; `redaction.py`: secrets out of every log line.
- `shutdown.py`: a stop finishes within `shutdown_timeout` (watchdog, exit codes); `logs.py`:
  at most one line per kind of failure every few seconds, with a count.

Importing this package loads nothing: import the module you need. It never imports the
local-stack launcher (streams/stack/).
"""
