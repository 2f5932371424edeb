// Everything a user of the mixin may want to change. Every key starts with binancePM, so the
// mixin merges with node-mixin, kubernetes-mixin and others without taking their keys.
// Override it from your own jsonnet:
//
//   (import 'binance-pm-exporter/mixin/mixin.libsonnet') + {
//     _config+:: { binancePMSelector: 'job="binance"', binancePMWatchedAssets: { BTC: 0.9 } },
//   }
//
// or keep the overrides alone in a file and render with
// `python scripts/render_mixin.py --overrides FILE --root DIR` (docs/alerts.md), or use any
// mixin tool (prometheusAlerts and grafanaDashboards are the usual fields).
{
  _config+:: {
    // Label matchers that select the exporter's series, in every rule and dashboard query.
    binancePMSelector: 'job="binance-pm"',

    // --- Rate drops --------------------------------------------------------------------------
    // The rules' memory. A drop is a rate below its highest value within this window (one sample
    // before the drop is enough, however long ago: see binancePMGapMemory); the drop alert fires
    // for this long from the first evaluation that sees the lower rate, or until the rate is
    // back up. Data gaps change no alert: the rules read the samples that exist. One unit.
    binancePMWindow: '1h',
    // How long the rules remember the last rate when data is missing: a cut made while the
    // exporter, Prometheus or Binance was away this long or less fires when the data is back,
    // from the rate before the gap. One unit ('7d').
    binancePMGapMemory: '7d',
    // Binance counts an asset that leaves the list at this rate: its drop alert is a cut to it.
    binancePMDelistedRate: 0.1,
    // BinancePMAccountCollateralCut (alerts_accounts.libsonnet) is held this long after its cut
    // left the window. The drop alert itself is not held: a rate back up ends it at once.
    binancePMDropKeepFiringFor: '30m',
    // A fall by at least this much (absolute, from the rate before the drop to its lowest), or
    // to 0, is critical; smaller falls are warnings.
    binancePMCriticalDrop: 0.20,
    binancePMDropSeverity: 'warning',
    binancePMCriticalDropSeverity: 'critical',
    // This many assets in a drop at once (within window) fire one more alert.
    binancePMManyDropsCount: 10,
    binancePMManyDropsSeverity: 'critical',

    // --- Thresholds on the assets you hold -----------------------------------------------------
    // asset -> rate: BinancePMCollateralRateBelowThreshold fires while the asset's rate is below
    // it. Empty: the rule is not rendered. Examples; set them to what your margin depends on.
    binancePMWatchedAssets: { BTC: 0.90, ETH: 0.90 },
    binancePMWatchedSeverity: 'critical',

    // --- Disappearance, upstream and exporter health ---------------------------------------
    binancePMDisappearedFor: '5m',
    binancePMUpstreamDownFor: '5m',
    // Seconds since the last successful fetch after which the data is stale (2 x --max-stale).
    binancePMStaleAfterSeconds: 600,
    // Binance's request weight budget per minute and IP, and the share that warns.
    binancePMIPWeightBudget: 12000,
    binancePMIPWeightNearLimitRatio: 0.8,
    binancePMIPWeightNearLimitFor: '5m',
    // 429 and 418 answers are remembered this long.
    binancePMRateLimitWindow: '10m',
    binancePMExporterDownFor: '5m',

    binancePMSeverities: {
      BinancePMCollateralAssetDisappeared: 'warning',
      BinancePMTieredCollateralBracketsChanged: 'warning',
      BinancePMTieredUpstreamDown: 'warning',
      BinancePMUpstreamDown: 'warning',
      BinancePMDataStale: 'critical',
      BinancePMRateLimited: 'warning',
      BinancePMIPBanned: 'critical',
      BinancePMIPWeightNearLimit: 'warning',
      BinancePMExporterDown: 'critical',
    },

    // --- Links in every alert ----------------------------------------------------------------
    // The only two addresses the rules use: every runbook_url and dashboard_url comes from
    // these. Set them to your own docs and Grafana.
    // %s is the alert name in lower case: the anchor of its runbook section in docs/alerts.md.
    binancePMRunbookURLPattern: 'https://github.com/binance-pm-exporter/binance-pm-exporter/blob/main/docs/alerts.md#%s',
    // Where the dashboard is served (the Compose stack's Grafana by default); per-asset alerts
    // add ?var-asset=<asset>.
    binancePMGrafanaURL: 'http://localhost:3000',

    // --- Dashboard ---------------------------------------------------------------------------
    binancePMDashboardUid: 'binance-pm-collateral',
    binancePMDashboardTitle: 'Binance Portfolio Margin collateral rates',
    binancePMDashboardTags: ['binance', 'portfolio-margin', 'binance-pm-exporter'],
    // The asset variable starts with the assets whose rate changed in the dashboard's range; the
    // rate history shows at most this many of them.
    binancePMDashboardTopAssets: 10,
  },
}
