// binance-pm-exporter monitoring mixin: alert rules (prometheusAlerts) and the Grafana dashboard
// (grafanaDashboards), configured by config.libsonnet. Recording rules live in the alert groups
// that read them, so each evaluation sees its own recordings.
(import 'config.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'dashboards.libsonnet')
