// The Portfolio Margin account rules: what a rate cut costs each account (recorded), and the
// account alerts. They read only account series (and the rates recorded by the collateral
// groups), so without accounts configured none of them records or fires anything.
local util = import 'util.libsonnet';

{
  local c = $._config,
  local sel(extra=[]) = util.selector(c.binancePMSelector, extra),
  local oneLine = util.oneLine,
  local dashboard = c.binancePMGrafanaURL + '/d/' + c.binancePMDashboardUid,
  local accountDashboard =
    dashboard + '?var-job={{ $labels.job | urlquery }}&var-account={{ $labels.account | urlquery }}',
  local annotations(alert, summary, description) = {
    summary: oneLine(summary),
    description: oneLine(description),
    runbook_url: std.format(c.binancePMAccountRunbookURLPattern, std.asciiLower(alert)),
    dashboard_url: accountDashboard,
  },

  // Recorded by the collateral groups (alerts.libsonnet).
  local rate = 'job_asset:binance_pm_collateral_rate:max',
  local tierRate = 'job_asset_tier:binance_pm_tiered_collateral_rate:max',
  local tierFloor = 'job_asset_tier:binance_pm_tiered_collateral_floor_usd:max',
  local tierCap = 'job_asset_tier:binance_pm_tiered_collateral_cap_usd:max',

  // One series per account (and asset) and job, however many exporters report the account.
  local uniMMR = 'job_account:binance_pm_account_uni_mmr:min',
  local equity = 'job_account:binance_pm_account_equity_usd:max',
  local maintenance = 'job_account:binance_pm_account_maintenance_margin_usd:max',
  local product = 'job_account_product:binance_pm_account_info:max',
  local status = 'job_account_status:binance_pm_account_status:max',
  local accountUp = 'job_account:binance_pm_account_up:max',
  local value = 'job_account_asset:binance_pm_account_asset_value_usd:max',
  local tierValue = 'job_account_asset_tier:binance_pm_account_asset_value_usd:in_tier',
  local whatIfCost = 'job_account_asset:binance_pm_account_rate_cut_cost_usd:what_if',
  local whatIfUniMMR = 'job_account_asset:binance_pm_account_uni_mmr:what_if',
  local cutCost = 'job_account_asset:binance_pm_account_rate_cut_cost_usd:last_cut',
  local cutShare = 'job_account_asset:binance_pm_account_rate_cut_cost_usd:equity_ratio',
  local beforeCut = 'job_account_asset:binance_pm_account_uni_mmr:before_cut',

  local last(series, range=c.binancePMAccountMemory) = std.format('last_over_time(%s[%s])', [series, range]),
  local cut = util.number(c.binancePMAccountWhatIfCut),
  local cutLabel = util.rate(c.binancePMAccountWhatIfCut),

  // The uniMMR of an account after its equity changes by -cost: Binance's uniMMR is equity over
  // maintenance margin, which collateral rates do not change. Without maintenance margin (no
  // debt) the uniMMR stays what Binance reports.
  local uniMMRMinus(cost, sign, uni, margin) = std.format(
    |||
      (
        %s %s on (job, account) group_left () (%s > 0)
        + on (job, account) group_left () %s
      )
      or on (job, account, asset, cut)
      (0 * %s + on (job, account) group_left () %s)
    |||,
    [cost, sign, margin, uni, cost, uni]
  ),

  // The part of an account's holding that lies in tier `tier` of the asset's schedule, in USD:
  // min(value, cap) - floor, at least 0. Portfolio Margin Pro accounts only.
  local inTier(tier) = {
    local t = util.selector('', ['tier="%d"' % tier]),
    record: tierValue,
    // The label is already the tier's; it tells the rules of each tier apart.
    labels: { tier: std.toString(tier) },
    expr: std.format(
      |||
        clamp_min(
          (
            (%s <= on (job, asset) group_left () %s%s)
            or on (job, account, asset)
            (0 * %s + on (job, asset) group_left () %s%s)
          )
          - on (job, asset) group_left (tier) %s%s,
          0
        )
        and on (job, account) %s{product="pm_pro"}
      |||,
      [value, tierCap, t, value, tierCap, t, tierFloor, t, product]
    ),
  },

  // Cost of a change of rates (from `old` to `new`, rate series of the same labels), per account
  // and asset: tiered accounts sum each tier's part; the others use the flat rate.
  local cost(valueNow, tierPart, flatRate, tieredRate) = std.format(
    |||
      sum by (job, account, asset) (
        %s
        * on (job, asset, tier) group_left ()
        %s
      )
      or
      clamp_min(%s, 0)
      * on (job, asset) group_left ()
      %s
    |||,
    [tierPart, tieredRate, valueNow, flatRate]
  ),

  local usd(query) = '{{ with %s | query }}{{ . | first | value | printf "%%.2f" }}{{ else }}?{{ end }}' % query,
  local ratio(query) = '{{ with %s | query }}{{ . | first | value | printf "%%.3f" }}{{ else }}?{{ end }}' % query,
  // A query of the last sample of an account's recorded series, for the alert's account.
  local forAccount(series) =
    'printf "%s" $labels.job $labels.account' % last(series + '{job=%q,account=%q}'),
  local forAccountAsset(series) =
    'printf "%s{job=%%q,account=%%q,asset=%%q}" $labels.job $labels.account $labels.asset' % series,
  local uniNow = forAccount(uniMMR),

  local ladder = |||
    Binance's ladder: above 1.5 the account trades freely; from 1.5 down to 1.2 Binance reminds
    you to add margin; from 1.2 to 1.05 it refuses new orders except reduce-only; at 1.05 it
    liquidates, and at or below 1.00 it may claim the loss.
  |||,

  // The text the drop alert's description adds when account series exist: each account holding
  // the asset, what the cut cost it and its uniMMR before and after. Empty without accounts.
  // It runs with the drop alert, in the rates' group: it reads the exporters' account series
  // and the rates recorded there (not this group's cut costs, which may be an evaluation
  // behind). Go's printf takes the arguments by index: 1 job, 2 account, 3 asset.
  local forHolding(matchers) = util.selector(c.binancePMSelector, matchers),
  local J = 'job=%[1]q',
  local A = 'account=%[2]q',
  local S = 'asset=%[3]q',
  local rawLast(fn, by, metric, matchers) =
    fn + ' by (' + by + ') (last_over_time(' + metric + forHolding(matchers) + '[' + c.binancePMAccountMemory + ']))',
  local holdingValue = rawLast('max', 'job, account, asset', 'binance_pm_account_asset_value_usd', [J, A, S]),
  local holdingUni = rawLast('min', 'job, account', 'binance_pm_account_uni_mmr', [J, A]),
  local holdingMargin = rawLast('max', 'job, account', 'binance_pm_account_maintenance_margin_usd', [J, A]),
  local rateOf = rate + '{' + J + ',' + S + '}[' + c.binancePMWindow + ']',
  local holdingCost =
    '((clamp_min(' + holdingValue + ', 0) * on (job, asset) group_left () (max_over_time(' + rateOf
    + ') - last_over_time(' + rateOf + ')) unless on (job, account, asset) ' + tierValue + '{' + J + ',' + A + ',' + S
    + '}) or ' + cutCost + '{' + J + ',' + A + ',' + S + '})',
  // The cut in uniMMR: cost / maintenance margin (0 without maintenance margin).
  local holdingDrop =
    '((' + holdingCost + ' / on (job, account) group_left () (' + holdingMargin + ' > 0)) or on (job, account) (0 * '
    + holdingUni + '))',
  // Binance's figures may still be those of before the cut (fetched just before it): the
  // exporter's collateral values, at the rates of now, then fall short of Binance's equity by
  // the cost, and the residual has jumped by it within the window.
  local residual = 'binance_pm_account_equity_residual_usd' + forHolding([J, A]),
  local holdingStale =
    '(max by (job, account) (' + residual + ') - max by (job, account) (min_over_time(' + residual + '['
    + c.binancePMWindow + '])) > on (job, account) (' + holdingCost + ' / 2))',
  local holdingBefore =
    '(' + holdingUni + ' and on (job, account) ' + holdingStale + ') or on (job, account) (' + holdingUni
    + ' + on (job, account) group_right () ' + holdingDrop + ')',
  local holdingAfter =
    '(' + holdingUni + ' - on (job, account) group_right () ' + holdingDrop + ' and on (job, account) ' + holdingStale
    + ') or on (job, account) ' + holdingUni,
  local perHolding(query) =
    '{{ with printf "' + std.strReplace(query, '"', '\\"')
    + '" $labels.job $holding.Labels.account $labels.asset | query }}',
  accountsInDropDescription:: std.join('', [
    '{{ with printf "sort_desc(%s > 0)" $labels.job $labels.asset | query }}'
    % std.strReplace(
      rawLast('max', 'job, account, asset', 'binance_pm_account_asset_value_usd', ['job=%q', 'asset=%q']),
      '"',
      '\\"'
    ),
    ' Accounts holding {{ $labels.asset }}:',
    '{{ range $i, $holding := . }}{{ if $i }};{{ end }} {{ $holding.Labels.account }} lost ',
    perHolding(holdingCost),
    '{{ . | first | value | printf "%.2f" }}{{ else }}0.00{{ end }} USD, uniMMR ',
    perHolding(holdingBefore),
    '{{ . | first | value | printf "%.3f" }}{{ else }}?{{ end }} to ',
    perHolding(holdingAfter),
    '{{ . | first | value | printf "%.3f" }}{{ else }}?{{ end }}{{ end }}.{{ end }}',
  ]),

  local marginRule(severity, expr, level) = {
    alert: 'BinancePMAccountMarginRatioLow',
    expr: expr,
    keep_firing_for: c.binancePMAccountMarginKeepFiringFor,
    labels: { severity: severity },
    annotations: annotations(
      'BinancePMAccountMarginRatioLow',
      'Account {{ $labels.account }} uniMMR is {{ printf "%%.3f" $value }}, below %s' % level,
      |||
        Binance reports a margin ratio (uniMMR) of {{ printf "%%.3f" $value }} for Portfolio
        Margin account {{ $labels.account }}, below %s (%s). %s Add collateral, repay
        borrowings or reduce positions now. Equity %s USD after collateral rates,
        maintenance margin %s USD. It resolves %s after the uniMMR is back above %s.
      ||| % [
        level,
        severity,
        ladder,
        usd(forAccount(equity)),
        usd(forAccount(maintenance)),
        c.binancePMAccountMarginKeepFiringFor,
        level,
      ],
    ),
  },

  local statusRule(severity, matcher) = {
    alert: 'BinancePMAccountStatusAbnormal',
    expr: std.format('%s == 1', last(status + util.selector('', [matcher]))),
    labels: { severity: severity },
    annotations: annotations(
      'BinancePMAccountStatusAbnormal',
      'Account {{ $labels.account }} status is {{ $labels.status }}',
      |||
        Binance reports the Portfolio Margin account {{ $labels.account }} as
        {{ $labels.status }} (accountStatus), not NORMAL; its uniMMR is
        %s. MARGIN_CALL and SUPPLY_MARGIN ask for more collateral; REDUCE_ONLY refuses new
        orders; ACTIVE_LIQUIDATION and FORCE_LIQUIDATION mean Binance is closing positions;
        BANKRUPTED means the equity did not cover the debt. Add collateral or reduce
        positions, and read the account's notifications on Binance.
      ||| % ratio(uniNow),
    ),
  },

  local cutRule(severity, expr, why) = {
    alert: 'BinancePMAccountCollateralCut',
    expr: expr,
    'for': c.binancePMAccountCutFor,
    keep_firing_for: c.binancePMDropKeepFiringFor,
    labels: { severity: severity },
    annotations: annotations(
      'BinancePMAccountCollateralCut',
      'Rate cut of {{ $labels.asset }} cost account {{ $labels.account }} {{ printf "%.2f" $value }} USD',
      |||
        Binance's cut of the {{ $labels.asset }} collateral rate in the last %s cost
        Portfolio Margin account {{ $labels.account }} {{ printf "%%.2f" $value }} USD of
        equity (%s of its equity before the cut): its uniMMR went from %s to %s. %s
        Check the account's margin: add collateral, or reduce the {{ $labels.asset }}
        holding or the positions. It fires until %s after the cut, plus %s.
      ||| % [
        c.binancePMWindow,
        '{{ with %s | query }}{{ . | first | value | humanizePercentage }}{{ else }}?{{ end }}'
        % forAccountAsset(cutShare),
        ratio(forAccountAsset(beforeCut)),
        ratio(uniNow),
        why,
        c.binancePMWindow,
        c.binancePMDropKeepFiringFor,
      ],
    ),
  },

  local warningStatuses = std.join('|', c.binancePMAccountStatusWarning),
  local critical = std.format(
    |||
      %s >= %s
      or
      (%s and on (job, account) (%s < %s))
    |||,
    [cutShare, util.number(c.binancePMAccountCutCriticalShare), cutCost, last(uniMMR), util.number(c.binancePMAccountMarginWarning)]
  ),
  local indent(text) = std.strReplace(std.rstripChars(text, '\n'), '\n', '\n  '),

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'binance-pm-accounts',
        rules: [
          { record: uniMMR, expr: std.format('min by (job, account) (binance_pm_account_uni_mmr%s)', sel()) },
          { record: equity, expr: std.format('max by (job, account) (binance_pm_account_equity_usd%s)', sel()) },
          {
            record: maintenance,
            expr: std.format('max by (job, account) (binance_pm_account_maintenance_margin_usd%s)', sel()),
          },
          {
            record: product,
            expr: std.format('max by (job, account, product) (binance_pm_account_info%s)', sel()),
          },
          {
            record: status,
            expr: std.format('max by (job, account, status) (binance_pm_account_status%s)', sel()),
          },
          { record: accountUp, expr: std.format('max by (job, account) (binance_pm_account_up%s)', sel()) },
          {
            record: value,
            expr: std.format('max by (job, account, asset) (binance_pm_account_asset_value_usd%s)', sel()),
          },
        ] + [inTier(tier) for tier in std.range(1, c.binancePMAccountMaxTiers)] + [
          // What a cut of every rate of the asset by binancePMAccountWhatIfCut would cost (a rate goes
          // no lower than 0), and the uniMMR after it.
          {
            record: whatIfCost,
            expr: std.format(
              'label_replace(\n  %s,\n  "cut", "%s", "", ""\n)',
              [
                indent(cost(value, tierValue, std.format('clamp_max(%s, %s)', [rate, cut]), std.format('clamp_max(%s, %s)', [tierRate, cut]))),
                cutLabel,
              ]
            ),
          },
          { record: whatIfUniMMR, expr: uniMMRMinus(whatIfCost, '* -1 /', uniMMR, maintenance) },
          // What the cut(s) of the last window cost: from the window's highest rate to the last
          // one, on the holding of now. Only while a cut is in the window.
          {
            record: cutCost,
            expr: std.format(
              '(\n  %s\n) > 0',
              [indent(cost(
                last(value),
                last(tierValue),
                std.format('(max_over_time(%s[%s]) - last_over_time(%s[%s]))', [rate, c.binancePMWindow, rate, c.binancePMWindow]),
                std.format('(max_over_time(%s[%s]) - last_over_time(%s[%s]))', [tierRate, c.binancePMWindow, tierRate, c.binancePMWindow]),
              ))]
            ),
          },
          {
            record: cutShare,
            expr: std.format(
              '%s\n/ (%s + on (job, account) group_right () %s)', [cutCost, last(equity), cutCost]
            ),
          },
          {
            record: beforeCut,
            expr: std.strReplace(
              uniMMRMinus(cutCost, '/', last(uniMMR), last(maintenance)), ', cut)', ')'
            ),
          },
        ] + [
          marginRule(
            'critical',
            std.format('%s < %s', [last(uniMMR), util.number(c.binancePMAccountMarginCritical)]),
            util.number(c.binancePMAccountMarginCritical),
          ),
          marginRule(
            'warning',
            std.format(
              '%s < %s >= %s',
              [last(uniMMR), util.number(c.binancePMAccountMarginWarning), util.number(c.binancePMAccountMarginCritical)]
            ),
            util.number(c.binancePMAccountMarginWarning),
          ),
          statusRule('critical', 'status!~"NORMAL|%s"' % warningStatuses),
          statusRule('warning', 'status=~"%s"' % warningStatuses),
          cutRule(
            'critical',
            std.format('%s\nand on (job, account, asset)\n(\n  %s\n)', [cutCost, indent(critical)]),
            std.format(
              'It cost %s%% or more of the equity, or left the uniMMR under %s: critical.',
              [util.number(c.binancePMAccountCutCriticalShare * 100), util.number(c.binancePMAccountMarginWarning)]
            ),
          ),
          cutRule(
            'warning',
            std.format(
              '%s\nand on (job, account, asset)\n(%s >= %s)\nunless on (job, account, asset)\n(\n  %s\n)',
              [cutCost, cutShare, util.number(c.binancePMAccountCutWarningShare), indent(critical)]
            ),
            '',
          ),
          {
            alert: 'BinancePMAccountDataDown',
            expr: std.format('%s == 0', accountUp),
            'for': c.binancePMAccountDownFor,
            labels: { severity: c.binancePMAccountDownSeverity },
            annotations: annotations(
              'BinancePMAccountDataDown',
              "Account {{ $labels.account }}'s margin cannot be fetched",
              |||
                Every exporter of job {{ $labels.job }} has failed to fetch Portfolio Margin
                account {{ $labels.account }} (account and balance requests) for %s, so its
                uniMMR, status and cut costs are not known now; the other accounts and the
                collateral rates go on.
                {{ with printf "sort_desc(sum by (endpoint, reason) (increase(binance_pm_upstream_errors_total{job=%%q,account=%%q}[15m])) > 0)" $labels.job $labels.account | query }}Errors in the last 15 minutes:{{ range . }} {{ .Labels.endpoint }} {{ .Labels.reason }}{{ end }}.{{ else }}No error counted in the last 15 minutes.{{ end }}
                auth: the key or its IP restriction (Binance -2015); client_error: the log names
                Binance's code (-21001: not a Portfolio Margin account, or the wrong product
                in the accounts file; -1021: the clock; -1022: the secret does not belong to
                the key); timeout, connection: the network; rate_limited, ip_banned: see the
                matching alerts.
              ||| % c.binancePMAccountDownFor,
            ),
          },
        ],
      },
    ],
  },
}
