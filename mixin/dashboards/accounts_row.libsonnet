// The dashboard's Portfolio Margin accounts row; c is the mixin config. An account is a fact
// about Binance too: every query takes max (min for the uniMMR) by account, so an HA pair of
// exporters shows each account once. Empty when the exporter watches no account.
local util = import '../util.libsonnet';
local p = import 'panels.libsonnet';

function(c, id)
  local account(metric) = p.series(metric, ['account=~"$account"']);
  local byAccount(fn, metric) = '%s by (account) (%s)' % [fn, account(metric)];
  local byAsset(expr) = 'max by (account, asset) (%s)' % expr;
  // Recorded by the account rules (prometheus/alerts.yml): one series per job, no instance.
  local recorded(name) = '%s{job=~"$job", account=~"$account"}' % name;
  local cut = util.number(c.binancePMAccountWhatIfCut);
  // Binance's ladder, and the alert levels of the mixin's config.
  local ladder = p.steps('dark-red', [
    [1.05, 'red'],
    [c.binancePMAccountMarginCritical, 'orange'],
    [c.binancePMAccountMarginWarning, 'green'],
  ]);
  local ladderText = 'Binance: above 1.5 the account trades freely; 1.2 to 1.5 it reminds you to add margin; 1.05 to 1.2 only reduce-only orders; at 1.05 it liquidates. BinancePMAccountMarginRatioLow warns under %s and is critical under %s.' % [
    util.number(c.binancePMAccountMarginWarning),
    util.number(c.binancePMAccountMarginCritical),
  ];
  local usd = p.property('unit', 'currencyUSD');
  local held = 'max by (asset) (%s > 0)' % account('binance_pm_account_asset_value_usd');

  p.row('Portfolio Margin accounts', id, [
    p.stat(
      'Account uniMMR',
      "Binance's margin ratio of each account (binance_pm_account_uni_mmr: equity / maintenance margin), coloured by the ladder. " + ladderText + ' A very large value means next to no maintenance margin (no debt).',
      p.instant(byAccount('min', 'binance_pm_account_uni_mmr'), '{{account}}'),
      width=8,
      unit='none',
      steps=ladder,
      colorMode='background',
      textMode='value_and_name',
    ) + p.defaults({ decimals: 3 }),
    p.stat(
      'Account status',
      "Binance's accountStatus of each account (binance_pm_account_status). Anything but NORMAL fires BinancePMAccountStatusAbnormal.",
      p.instant(
        'max by (account, status) (%s) == 1' % account('binance_pm_account_status'),
        '{{account}}: {{status}}'
      ),
      width=8,
      steps=p.steps('text'),
      textMode='name',
    ),
    p.stat(
      'Account data',
      "Whether the exporter's last account and balance requests of each account succeeded (binance_pm_account_up). DOWN for 5 minutes fires BinancePMAccountDataDown.",
      p.instant(byAccount('max', 'binance_pm_account_up'), '{{account}}'),
      width=8,
      steps=p.steps('red', [[1, 'green']]),
      colorMode='background',
      textMode='value_and_name',
      mappings=p.upDown,
    ),
    p.timeseries(
      'uniMMR history',
      "Each account's uniMMR against the ladder (dashed lines). " + ladderText + ' The bars mark the collateral rate changes of the assets the accounts hold (flat rates; the tier changes are in the tier row).',
      [
        p.range(byAccount('min', 'binance_pm_account_uni_mmr'), '{{account}}'),
        p.range(
          'max by (asset) (changes(%s[$__rate_interval])) > 0 and on (asset) %s'
          % [p.series('binance_pm_collateral_rate'), held],
          '{{asset}} rate changed'
        ),
      ],
      width=12,
      height=9,
      unit='none',
    )
    + p.defaults({ decimals: 3, min: 0, thresholds: ladder })
    + p.custom({ thresholdsStyle: { mode: 'dashed' }, axisSoftMax: 3 })
    + {
      fieldConfig+: {
        overrides: [{
          matcher: { id: 'byFrameRefID', options: 'B' },
          properties: [
            p.property('custom.drawStyle', 'bars'),
            p.property('custom.fillOpacity', 80),
            p.property('custom.axisPlacement', 'hidden'),
            p.property('max', 1),
            p.fixedColor('purple'),
          ],
        }],
      },
    },
    p.timeseries(
      'Equity before and after collateral rates',
      "Each account's equity before collateral rates (actualEquity), after them (accountEquity, what the uniMMR is computed from), and the difference: the haircut the rates take.",
      [
        p.range(byAccount('max', 'binance_pm_account_actual_equity_usd'), '{{account}} before rates'),
        p.range(byAccount('max', 'binance_pm_account_equity_usd'), '{{account}} after rates'),
        p.range(
          '%s - %s' % [
            byAccount('max', 'binance_pm_account_actual_equity_usd'),
            byAccount('max', 'binance_pm_account_equity_usd'),
          ],
          '{{account}} haircut'
        ),
      ],
      width=12,
      height=9,
      unit='currencyUSD',
    ),
    p.table(
      'Account holdings',
      "Each held asset of each account: net balance (units), Binance's index price, value (balance x price, negative for a loan), the effective rate (collateral value / value: the flat rate, or the blend of the tiers the holding spans), the collateral value it adds to the account's equity, the haircut (value - collateral value), and what a cut of its rate by %s would cost and leave of the uniMMR (the mixin's what-if rules; empty without them). See docs/accounts.md." % cut,
      [
        p.tableQuery(byAsset(account('binance_pm_account_asset_balance'))),
        p.tableQuery(byAsset('%s * 0 + on (job, instance, asset) group_left () %s' % [
          account('binance_pm_account_asset_balance'),
          p.series('binance_pm_asset_index_price_usd'),
        ])),
        p.tableQuery(byAsset(account('binance_pm_account_asset_value_usd'))),
        p.tableQuery(byAsset('%s / (%s != 0)' % [
          account('binance_pm_account_asset_collateral_value_usd'),
          account('binance_pm_account_asset_value_usd'),
        ])),
        p.tableQuery(byAsset(account('binance_pm_account_asset_collateral_value_usd'))),
        p.tableQuery(byAsset('%s - %s' % [
          account('binance_pm_account_asset_value_usd'),
          account('binance_pm_account_asset_collateral_value_usd'),
        ])),
        p.tableQuery(byAsset(recorded('job_account_asset:binance_pm_account_rate_cut_cost_usd:what_if'))),
        p.tableQuery(byAsset(recorded('job_account_asset:binance_pm_account_uni_mmr:what_if'))),
      ],
      width=24,
      height=10,
      transformations=[
        p.merge,
        p.organize(['Time'], [
          ['account', 'Account'],
          ['asset', 'Asset'],
          ['Value #A', 'Balance'],
          ['Value #B', 'Index price (USD)'],
          ['Value #C', 'Value (USD)'],
          ['Value #D', 'Rate'],
          ['Value #E', 'Collateral value (USD)'],
          ['Value #F', 'Haircut (USD)'],
          ['Value #G', 'Cost of a %s cut (USD)' % cut],
          ['Value #H', 'uniMMR after it'],
        ]),
      ],
      sortBy='Account',
      columns=[
        p.column('Index price (USD)', [usd]),
        p.column('Value (USD)', [usd, p.property('decimals', 2)]),
        p.column('Collateral value (USD)', [usd, p.property('decimals', 2)]),
        p.column('Haircut (USD)', [usd, p.property('decimals', 2)]),
        p.column('Cost of a %s cut (USD)' % cut, [usd, p.property('decimals', 2)]),
        p.column('uniMMR after it', [
          p.property('decimals', 3),
          p.property('thresholds', ladder),
          p.colorText,
        ]),
      ],
    ),
  ])
