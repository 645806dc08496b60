"""The KPI spec compiler: one versioned spec -> Prometheus rules, Grafana dashboards and the
worker's /wall page.

Layers, each seeing only the one before it (like slok/sloth):

    deploy/spec/kpi-spec.v1.yaml
      -> spec.py        the file format (version 1), checked key by key
      -> model.py       the validated model: durations in seconds, metric names, bucket labels
      -> recording_rules.py, alert_rules.py, provisioning.py, dashboards/, wall_page.py   generators
      -> generate.py    which generator writes which file
      -> writer.py      text with a "generated, do not edit" header, write or check for drift

`python -m streams.codegen` (`make generate`) rewrites the committed files;
`--check` reports drift, as the golden test does.
"""
