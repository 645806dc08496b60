"""Grafana provisioning: the Prometheus datasource (stable uid) and a file provider
that loads the generated dashboards."""

from __future__ import annotations

from typing import Any

from streams.codegen.model import Model

DATASOURCE_FILE = "kpi-prometheus.yaml"
PROVIDER_FILE = "kpi-monitor.yaml"


def datasources(model: Model) -> dict[str, Any]:
    """Grafana's datasource provisioning file (as a dict): the one Prometheus datasource the
    dashboards query, with the spec's name, uid and URL (Grafana expands `${VAR}` in it from its
    environment); not the default, not editable in the UI."""
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
    """Grafana's dashboard provisioning file (as a dict): load the JSON dashboards from the
    spec's `dashboards_path` into its folder, read-only (no deletion, no UI saves), re-read every
    30 s."""
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
