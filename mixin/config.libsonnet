// Everything a user of the mixin may want to change. Override it from your own jsonnet:
//
//   (import 'binance-pm-exporter/mixin/mixin.libsonnet') + {
//     _config+:: { selector: 'job="binance"', watchedAssets: { BTC: 0.9 } },
//   }
//
// then render with `python scripts/render_mixin.py` (this repository) or any mixin tool
// (prometheusAlerts, prometheusRules and grafanaDashboards are the usual fields).
{
  _config+:: {
    // Label matchers that select the exporter's series, in every rule and dashboard query.
    selector: 'job="binance-pm"',

    // --- Rate drops --------------------------------------------------------------------------
    // The rules' memory. A drop is a rate below its highest value within this window (one sample
    // before the drop is enough, however long ago: see gapMemory); the drop alert fires for
    // this long from the first evaluation that sees the lower rate, or until the rate is back
    // up. Data gaps change no alert: the rules read the samples that exist. One unit ('1h').
    window: '1h',
    // How long the rules remember the last rate when data is missing: a cut made while the
    // exporter, Prometheus or Binance was away this long or less fires when the data is back,
    // from the rate before the gap. One unit ('7d').
    gapMemory: '7d',
    // Binance counts an asset that leaves the list at this rate: its drop alert is a cut to it.
    delistedRate: 0.1,
    // A fall by at least this much (absolute, from the rate before the drop to its lowest), or
    // to 0, is critical; smaller falls are warnings.
    criticalDrop: 0.20,
    dropSeverity: 'warning',
    criticalDropSeverity: 'critical',
    // This many assets in a drop at once (within window) fire one more alert.
    manyDropsCount: 10,
    manyDropsSeverity: 'critical',

    // --- Thresholds on the assets you hold -----------------------------------------------------
    // asset -> rate: BinancePMCollateralRateBelowThreshold fires while the asset's rate is below
    // it. Empty: the rule is not rendered. Examples; set them to what your margin depends on.
    watchedAssets: { BTC: 0.90, ETH: 0.90 },
    watchedSeverity: 'critical',

    // --- Disappearance, upstream and exporter health ---------------------------------------
    disappearedFor: '5m',
    upstreamDownFor: '5m',
    // Seconds since the last successful fetch after which the data is stale (2 x --max-stale).
    staleAfterSeconds: 600,
    // Binance's request weight budget per minute and IP, and the share that warns.
    ipWeightBudget: 12000,
    ipWeightNearLimitRatio: 0.8,
    ipWeightNearLimitFor: '5m',
    // 429 and 418 answers are remembered this long.
    rateLimitWindow: '10m',
    exporterDownFor: '5m',

    severities: {
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
    // %s is the alert name in lower case: the anchor of its runbook section in docs/alerts.md.
    runbookURLPattern: 'https://github.com/binance-pm-exporter/binance-pm-exporter/blob/main/docs/alerts.md#%s',
    // Where the dashboard is served (the Compose stack's Grafana by default); per-asset alerts
    // add ?var-asset=<asset>.
    grafanaURL: 'http://localhost:3000',

    // --- Dashboard ---------------------------------------------------------------------------
    dashboardUid: 'binance-pm-collateral',
    dashboardTitle: 'Binance Portfolio Margin collateral rates',
    dashboardTags: ['binance', 'portfolio-margin', 'binance-pm-exporter'],
    // The asset variable starts with the assets whose rate changed in the dashboard's range; the
    // rate history shows at most this many of them.
    dashboardTopAssets: 10,
  },
}
