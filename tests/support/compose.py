"""What the tests know of docker-compose.yml."""

from __future__ import annotations

# service -> (the variable that sets its host port, its default)
HOST_PORTS = {
    "exporter": ("EXPORTER_HOST_PORT", 10471),
    "prometheus": ("PROMETHEUS_HOST_PORT", 9090),
    "alertmanager": ("ALERTMANAGER_HOST_PORT", 9093),
    "grafana": ("GRAFANA_HOST_PORT", 3000),
}
