// binance-pm-exporter monitoring mixin: alert rules (prometheusAlerts) and the Grafana dashboard
// (grafanaDashboards), configured by config.libsonnet (and config_accounts.libsonnet for the
// Portfolio Margin accounts). Recording rules live in the alert groups that read them, so each
// evaluation sees its own recordings.
(import 'config.libsonnet')
+ (import 'config_accounts.libsonnet')
+ (import 'alerts.libsonnet')
+ (import 'alerts_accounts.libsonnet')
+ (import 'dashboards.libsonnet')
