"""Grafana provisioning: the Prometheus datasource (stable uid) and a file provider
that loads the generated dashboards."""

from __future__ import annotations

from typing import Any

from streams.codegen.model import Model

DATASOURCE_FILE = "kpi-prometheus.yaml"
PROVIDER_FILE = "kpi-monitor.yaml"


def datasources(model: Model) -> dict[str, Any]:
    g = model.grafana
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": g.datasource_name,
                "uid": g.datasource_uid,
                "type": "prometheus",
                "access": "proxy",
                # Grafana expands ${VAR} from its environment (docs/grafana.md).
                "url": g.datasource_url,
                # Not the default: an existing Grafana may already have one, and two is an error.
                "isDefault": False,
                "editable": False,
                "jsonData": {"httpMethod": "POST", "prometheusType": "Prometheus"},
            }
        ],
    }


def dashboard_providers(model: Model) -> dict[str, Any]:
    g = model.grafana
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "kpi-monitor",
                "orgId": 1,
                "folder": g.folder,
                "folderUid": "kpi-monitor",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": g.dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }
