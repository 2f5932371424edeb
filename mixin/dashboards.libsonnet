// The Grafana dashboards, by file name: grafana/dashboards/ and the Kubernetes ConfigMap.
{
  grafanaDashboards+:: {
    'binance-pm-collateral.json': (import 'dashboards/binance-pm-collateral.libsonnet')($._config),
  },
}
