// The settings of the Portfolio Margin account rules (alerts_accounts.libsonnet) and of the
// dashboard's Accounts row. They only matter when the exporter watches accounts
// (--accounts-file or --account-product); without account series no account rule can fire.
{
  _config+:: {
    // --- What-if and cut costs ---------------------------------------------------------------
    // The what-if rules price a cut of every rate of an asset by this much (absolute; a rate
    // never goes below 0). The recorded series carry it in their label `cut`.
    binancePMAccountWhatIfCut: 0.10,
    // Portfolio Margin Pro tiers priced per asset: tier numbers 1..this. Binance's schedules
    // have fewer; a tier beyond it would be left out of the tiered costs.
    binancePMAccountMaxTiers: 10,
    // A gap in the account series shorter than this changes no account alert: the rules read
    // the last sample within it.
    binancePMAccountMemory: '15m',

    // --- BinancePMAccountMarginRatioLow --------------------------------------------------------
    // uniMMR levels; Binance's ladder: 1.5 reminder to add margin, 1.2 new orders refused
    // (reduce-only), 1.05 liquidation.
    binancePMAccountMarginWarning: 1.5,
    binancePMAccountMarginCritical: 1.2,
    binancePMAccountMarginKeepFiringFor: '5m',

    // --- BinancePMAccountCollateralCut ---------------------------------------------------------
    // A rate cut that cost the account this share of its equity (before the cut) warns; the
    // critical share, or a uniMMR left under binancePMAccountMarginWarning, is critical whatever the
    // size of the rate step.
    binancePMAccountCutWarningShare: 0.005,
    // The cut alert waits this long before it fires, so that the account's figures in its first
    // notification (equity, uniMMR before and after) are fetched after the cut: at least
    // --account-min-interval plus a scrape interval.
    binancePMAccountCutFor: '1m',
    binancePMAccountCutCriticalShare: 0.02,

    // --- BinancePMAccountStatusAbnormal --------------------------------------------------------
    // Binance's accountStatus values that warn; any other status but NORMAL is critical.
    binancePMAccountStatusWarning: ['MARGIN_CALL', 'SUPPLY_MARGIN'],

    // --- BinancePMAccountDataDown ---------------------------------------------------------------
    binancePMAccountDownFor: '5m',
    binancePMAccountDownSeverity: 'warning',

    // The account alerts' runbooks (%s: the alert name in lower case): docs/accounts.md
    // beside the shipped docs/alerts.md, otherwise the same pattern as the other alerts.
    binancePMAccountRunbookURLPattern: std.strReplace(
      self.binancePMRunbookURLPattern, '/docs/alerts.md#', '/docs/accounts.md#'
    ),
  },
}
