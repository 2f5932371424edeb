// The settings of the Portfolio Margin account rules (alerts_accounts.libsonnet) and of the
// dashboard's Accounts row. They only matter when the exporter watches accounts
// (--accounts-file or --account-product); without account series no account rule can fire.
{
  _config+:: {
    // --- What-if and cut costs ---------------------------------------------------------------
    // The what-if rules price a cut of every rate of an asset by this much (absolute; a rate
    // never goes below 0). The recorded series carry it in their label `cut`.
    accountWhatIfCut: 0.10,
    // Portfolio Margin Pro tiers priced per asset: tier numbers 1..this. Binance's schedules
    // have fewer; a tier beyond it would be left out of the tiered costs.
    accountMaxTiers: 10,
    // A gap in the account series shorter than this changes no account alert: the rules read
    // the last sample within it.
    accountMemory: '15m',

    // --- BinancePMAccountMarginRatioLow --------------------------------------------------------
    // uniMMR levels; Binance's ladder: 1.5 reminder to add margin, 1.2 new orders refused
    // (reduce-only), 1.05 liquidation.
    accountMarginWarning: 1.5,
    accountMarginCritical: 1.2,
    accountMarginKeepFiringFor: '5m',

    // --- BinancePMAccountCollateralCut ---------------------------------------------------------
    // A rate cut that cost the account this share of its equity (before the cut) warns; the
    // critical share, or a uniMMR left under accountMarginWarning, is critical whatever the
    // size of the rate step.
    accountCutWarningShare: 0.005,
    accountCutCriticalShare: 0.02,

    // --- BinancePMAccountStatusAbnormal --------------------------------------------------------
    // Binance's accountStatus values that warn; any other status but NORMAL is critical.
    accountStatusWarning: ['MARGIN_CALL', 'SUPPLY_MARGIN'],

    // --- BinancePMAccountDataDown ---------------------------------------------------------------
    accountDownFor: '5m',
    accountDownSeverity: 'warning',

    // The account alerts' runbooks (%s: the alert name in lower case).
    accountRunbookURLPattern: 'https://github.com/binance-pm-exporter/binance-pm-exporter/blob/main/docs/accounts.md#%s',
  },
}
