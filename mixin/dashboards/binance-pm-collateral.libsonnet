// The Grafana dashboard; c is the mixin config. Rates are facts about Binance, not about an
// exporter: every rate query takes max by (asset) (and tier), so an HA pair shows each once.
local util = import '../util.libsonnet';
local p = import 'panels.libsonnet';

function(c)
  local rates = 'max by (asset) (%s)' % p.series('binance_pm_collateral_rate');
  local highs = 'max by (asset) (max_over_time(%s[$__range]))' % p.series('binance_pm_collateral_rate');
  local selected = p.series('binance_pm_collateral_rate', ['asset=~"$asset"']);
  local tiered = p.series('binance_pm_tiered_collateral_rate', ['asset=~"$asset"']);
  local tierBy(metric) = 'max by (asset, tier) (%s)' % p.series(metric, ['asset=~"$asset"']);
  // The assets of the selection whose rate moved most in the time range ("All" stays readable).
  local movers(series) = std.format(
    'topk(%d, max by (asset) (max_over_time(%s[$__range] @ end()) - min_over_time(%s[$__range] @ end())))',
    [c.binancePMDashboardTopAssets, series, series]
  );
  // Firing alerts of the chosen jobs and instances; the per-asset alerts have no instance.
  local alerts = 'ALERTS{alertname=~"BinancePM.+", alertstate="firing", job=~"$job", instance=~"$instance|"}';
  local historyPanelId = 10;
  local historyLink(field) = {
    title: 'History of ${%s}' % field,
    url: '/d/' + c.binancePMDashboardUid + '?${job:queryparam}&var-asset=${%s}&viewPanel=%d&${__url_time_range}&${datasource:queryparam}' % [field, historyPanelId],
  };
  local assetLinks = p.property('links', [historyLink('__data.fields.Asset')]);
  local budget = c.binancePMIPWeightBudget;
  local nearBudget = budget * c.binancePMIPWeightNearLimitRatio;
  local rateGraph = { decimals: 4, min: 0, max: 1 };
  // The exporter drops its data --max-stale after the last success (300 s by default); the
  // stale alert fires past binancePMStaleAfterSeconds.
  local maxStale = 300;
  local staleAfter = c.binancePMStaleAfterSeconds;
  local ageSteps(base) = p.steps(base, [[maxStale, 'orange'], [staleAfter, 'red']]);

  local ratesRow = p.row('Collateral rates', 1, [
    p.stat(
      'Assets listed',
      'Number of assets in the last good response from Binance (binance_pm_collateral_assets).',
      p.instant(p.max('binance_pm_collateral_assets')),
      width=4,
    ),
    p.stat(
      'Binance API status',
      "Whether the exporter's last request to Binance succeeded (binance_pm_up). DOWN means the last good rates are being served until --max-stale runs out.",
      p.instant(p.min('binance_pm_up')),
      width=4,
      steps=p.steps('red', [[1, 'green']]),
      colorMode='background',
      mappings=p.upDown,
    ),
    p.stat(
      'Data age',
      'Seconds since the exporter last fetched the rates successfully. The exporter drops the rates --max-stale (default 5m) after the last success; the BinancePMDataStale alert fires past %s.'
      % (if staleAfter % 60 == 0 then '%dm' % (staleAfter / 60) else '%ds' % staleAfter),
      p.instant('max(%s)' % p.age('binance_pm_last_success_timestamp_seconds')),
      width=4,
      unit='s',
      steps=ageSteps('green'),
      colorMode='background',
    ) + p.defaults({ decimals: 0 }),
    p.stat(
      'Assets that fell',
      "Each asset whose rate is now below its highest value in the dashboard's time range, with the change; 0 when none fell. Click an asset for its history.",
      p.instant('(%s - %s) < 0 or on () vector(0)' % [rates, highs], '{{asset}}'),
      width=4,
      unit='none',
      steps=p.steps('red', [[0, 'green']]),
      colorMode='background',
      textMode='value_and_name',
    ) + p.defaults({ decimals: 4, links: [historyLink('__field.labels.asset')] }),
    p.stat(
      'Alerts firing',
      "Alerts of this exporter's rules (prometheus/alerts.yml) firing now. Needs the rules loaded in this Prometheus.",
      p.instant('count(%s) or vector(0)' % alerts),
      width=4,
      steps=p.steps('green', [[1, 'red']]),
      colorMode='background',
    ),
    p.stat(
      'Exporter version',
      'binance_pm_exporter_build_info of the selected instances.',
      p.instant(p.series('binance_pm_exporter_build_info'), '{{version}}'),
      width=4,
      colorMode='none',
      textMode='name',
    ),
    p.table(
      'Current collateral rates',
      "Every asset Binance lists, with its rate at the start and at the end of the dashboard's time range and the change between the two. Click a column header to sort; the default order puts the largest drops first.",
      [p.range(rates, '{{asset}}')],
      width=12,
      height=14,
      transformations=[
        {
          id: 'reduce',
          options: {
            mode: 'seriesToRows',
            reducers: ['lastNotNull', 'firstNotNull', 'diff', 'min', 'max'],
            labelsToFields: true,
            includeTimeField: false,
          },
        },
        p.organize(['Field', 'job', 'instance', '__name__'], [
          ['asset', 'Asset'],
          ['Last *', 'Rate now'],
          ['First *', 'Rate at range start'],
          ['Difference', 'Change'],
          ['Min', 'Lowest'],
          ['Max', 'Highest'],
        ]),
      ],
      sortBy='Change',
      columns=[
        p.column('Change', [
          p.property('thresholds', p.steps('red', [[0, 'text'], [1e-09, 'green']])),
          p.colorText,
        ]),
        p.column('Asset', [p.width(120), assetLinks]),
      ],
    ),
    p.table(
      'Drops in the range',
      "Assets whose rate is now lower than the highest value it had in the dashboard's time range: from what to what, and by how much. Empty when nothing fell.",
      [
        p.tableQuery(highs + ' > ' + rates),
        p.tableQuery(rates + ' < ' + highs),
        p.tableQuery('(%s - %s) < 0' % [rates, highs]),
        p.tableQuery('(%s - %s) / %s < 0' % [rates, highs, highs]),
      ],
      width=12,
      height=14,
      transformations=[
        p.merge,
        p.organize(['Time', 'job', 'instance', '__name__'], [
          ['asset', 'Asset'],
          ['Value #A', 'From (range high)'],
          ['Value #B', 'To (now)'],
          ['Value #C', 'Change'],
          ['Value #D', 'Change %'],
        ]),
      ],
      sortBy='Change %',
      columns=[
        p.column('Asset', [assetLinks]),
        p.column('Change', [p.colorText, p.fixedColor('red')]),
        p.column('Change %', [
          p.property('unit', 'percentunit'),
          p.property('decimals', 1),
          p.colorText,
          p.fixedColor('red'),
        ]),
      ],
    ),
    p.timeseries(
      'Collateral rate history',
      'Rates of the assets chosen in the asset selector. Rates change in steps, by Binance announcement; drop alerts appear as annotations.',
      [p.range(std.format('max by (asset) (%s) and on (asset) %s', [selected, movers(selected)]), '{{asset}}')],
      width=24,
      height=10,
      unit='none',
      style=p.stepped,
    ) + p.defaults(rateGraph),
  ]);

  local tiersRow = p.row('Portfolio Margin Pro tiers', 20, [
    p.stat(
      'Tiered rates API',
      "Whether the exporter's last signed request for the tiered rates (GET /sapi/v2/portfolio/collateralRate) succeeded (binance_pm_tiered_up). Off: the exporter has no API secret, so it collects no tiers and this row stays empty; the flat rates above do not need one.",
      p.instant(p.min('binance_pm_tiered_up')),
      width=6,
      steps=p.steps('text'),
      colorMode='background',
      mappings=p.upDown,
    ) + p.defaults({ noValue: 'Off' }),
    p.stat(
      'Tier data age',
      'Seconds since the exporter last fetched the tiers successfully. The exporter drops the tiers --max-stale (default 5m) after the last success. Empty without an API secret.',
      p.instant('max(%s)' % p.age('binance_pm_tiered_last_success_timestamp_seconds')),
      width=6,
      unit='s',
      steps=p.steps('green', [[300, 'orange'], [600, 'red']]),
      colorMode='background',
    ) + p.defaults({ decimals: 0 }),
    p.stat(
      'Assets with tiers',
      'Assets with at least one valid tier in the last good tiered response (binance_pm_tiered_collateral_assets). Empty without an API secret.',
      p.instant(p.max('binance_pm_tiered_collateral_assets')),
      width=6,
    ),
    p.stat(
      'Clock offset',
      "Binance's clock minus the exporter host's, as learned from /api/v3/time before signed requests (binance_pm_server_time_offset_seconds). Signed requests are corrected by it; seconds or more mean the host's clock is off (check its NTP). Empty without an API secret.",
      p.instant(p.series('binance_pm_server_time_offset_seconds')),
      width=6,
      unit='s',
      steps=p.steps('text'),
    ) + p.defaults({ decimals: 3 }),
    p.table(
      'Collateral tiers',
      "Portfolio Margin Pro values collateral in tiers: the rate of a tier applies to the part of the asset's USD value between its floor (From) and its cap (To). Tier 1 has the lowest floor. Change in range: the rate now minus its highest value in the dashboard's time range (0 when it did not fall). Filtered by the asset selector. Empty unless the exporter has an API secret (the tiers come from the signed v2 endpoint).",
      [
        p.tableQuery(tierBy('binance_pm_tiered_collateral_rate')),
        p.tableQuery(tierBy('binance_pm_tiered_collateral_floor_usd')),
        p.tableQuery(tierBy('binance_pm_tiered_collateral_cap_usd')),
        p.tableQuery(std.format(
          '%s - max by (asset, tier) (max_over_time(%s[$__range]))',
          [tierBy('binance_pm_tiered_collateral_rate'), tiered]
        )),
      ],
      width=12,
      height=14,
      transformations=[
        p.merge,
        {
          id: 'convertFieldType',
          options: { fields: {}, conversions: [{ targetField: 'tier', destinationType: 'number' }] },
        },
        { id: 'sortBy', options: { fields: {}, sort: [{ field: 'tier', desc: false }] } },
        p.organize(['Time', 'job', 'instance', '__name__'], [
          ['asset', 'Asset'],
          ['tier', 'Tier'],
          ['Value #B', 'From (USD)'],
          ['Value #C', 'To (USD)'],
          ['Value #A', 'Rate'],
          ['Value #D', 'Change in range'],
        ]),
      ],
      sortBy='Asset',
      columns=[
        p.column('Asset', [p.width(110)]),
        p.column('Tier', [p.property('decimals', 0), p.width(60)]),
        p.column('From (USD)', [
          p.property('unit', 'currencyUSD'),
          p.property('decimals', 0),
          p.width(130),
        ]),
        p.column('To (USD)', [
          p.property('unit', 'currencyUSD'),
          p.property('decimals', 0),
          p.width(130),
          p.property('mappings', [
            { type: 'value', options: { '99999999999': { text: 'no cap', index: 0 } } },
          ]),
        ]),
        p.column('Change in range', [
          p.property('thresholds', p.steps('red', [[0, 'text']])),
          p.colorText,
        ]),
      ],
    ),
    p.timeseries(
      'Tiered rate history',
      'Tier rates of the assets chosen in the asset selector, as steps. Tier drop alerts appear as annotations. Empty unless the exporter has an API secret.',
      [p.range(
        std.format('%s and on (asset) %s', [tierBy('binance_pm_tiered_collateral_rate'), movers(tiered)]),
        '{{asset}} tier {{tier}}'
      )],
      width=12,
      height=14,
      unit='none',
      style=p.stepped,
      legend='bottom',
    ) + p.defaults(rateGraph),
  ]);

  local duration(metric) = p.rate('binance_pm_upstream_request_duration_seconds_' + metric, 'endpoint');
  local quantile(q) = p.range(
    'histogram_quantile(%s, %s)' % [q, p.rate('binance_pm_upstream_request_duration_seconds_bucket', 'le, endpoint')],
    'p%d {{endpoint}}' % (std.parseJson(q) * 100),
  );
  local accountsRow = (import 'accounts_row.libsonnet')(c, 30);
  local healthRow = p.row('Exporter health', 11, [
    p.timeseries(
      'Binance API up',
      "1 when the exporter's last request to Binance succeeded, 0 when it failed (binance_pm_up).",
      [p.range(p.series('binance_pm_up'), '{{instance}}')],
      width=8,
      height=8,
      style=p.stepped { fillOpacity: 20 },
    ) + p.defaults({ min: 0, max: 1 }),
    p.timeseries(
      'Upstream errors by reason',
      'Failed requests to Binance per interval, by endpoint and reason (timeout, connection, rate_limited = 429, ip_banned = 418, auth, forbidden, restricted_location = 451, server_error, client_error, invalid_response, internal_error = a bug of the exporter). Reasons with no error are hidden.',
      [p.range(p.increase('binance_pm_upstream_errors_total', 'endpoint, reason') + ' > 0', '{{endpoint}} {{reason}}')],
      width=8,
      height=8,
      style=p.bars { stacking: { mode: 'normal', group: 'A' } },
    ) + p.defaults({ decimals: 0, min: 0 }),
    p.timeseries(
      'Upstream requests per minute',
      'Requests the exporter sent to Binance, per minute. At most one per endpoint per --min-interval, whatever the scrape rate.',
      [p.range(p.rate('binance_pm_upstream_requests_total', 'endpoint') + ' * 60', '{{endpoint}}')],
      width=8,
      height=8,
    ) + p.defaults({ min: 0 }),
    p.timeseries(
      'Upstream latency',
      'Duration of requests to Binance: median, 90th and 99th percentile (from the histogram) and mean.',
      [quantile('0.5'), quantile('0.9'), quantile('0.99')]
      + [p.range('%s / %s' % [duration('sum'), duration('count')], 'mean {{endpoint}}')],
      width=8,
      height=8,
      unit='s',
    ) + p.defaults({ min: 0 }),
    p.timeseries(
      'Binance IP weight used (budget %s/min)' % util.thousands(budget),
      'The request weight Binance counted for this IP in the current minute, as last reported in X-SAPI-USED-IP-WEIGHT-1M. The budget of %s per minute is shared by every process behind the IP; the exporter spends 50 per request. Orange from %s (%d%%, BinancePMIPWeightNearLimit), red at %s (HTTP 429, then a ban).'
      % [util.thousands(budget), util.thousands(nearBudget), c.binancePMIPWeightNearLimitRatio * 100, util.thousands(budget)],
      [p.range(p.series('binance_pm_upstream_used_weight_1m'), '{{instance}}')],
      width=8,
      height=8,
    ) + p.custom({ thresholdsStyle: { mode: 'line+area' } })
    + p.defaults({ thresholds: p.steps('transparent', [[nearBudget, 'orange'], [budget, 'red']]), min: 0, max: budget }),
    p.timeseries(
      'Age of the data',
      'Seconds since the last successful fetch. It stays under --min-interval plus the scrape interval while all is well; past --max-stale (default %d s) the exporter drops the rates, and BinancePMDataStale fires past %d s. Nothing is shown before the first success.' % [maxStale, staleAfter],
      [p.range(p.age('binance_pm_last_success_timestamp_seconds'), '{{instance}}')],
      width=8,
      height=8,
      unit='s',
    ) + p.custom({ thresholdsStyle: { mode: 'dashed' } })
    + p.defaults({ thresholds: ageSteps('transparent'), min: 0 }),
    p.timeseries(
      'Invalid entries skipped',
      "Entries of Binance's response the exporter skipped as invalid (missing or duplicate asset, rate not a number in [0, 1]), per interval. An asset skipped this way disappears from the rates.",
      [p.range(p.increase('binance_pm_invalid_entries_total', 'instance'), '{{instance}}')],
      width=8,
      height=8,
      style=p.bars,
    ) + p.defaults({ decimals: 0, min: 0 }),
    p.table(
      'Firing alerts',
      "This exporter's alerts firing now in the selected Prometheus (rules from prometheus/alerts.yml).",
      [p.tableQuery(alerts)],
      width=16,
      height=8,
      transformations=[
        p.organize(['Time', 'Value', '__name__', 'alertstate'], [
          ['alertname', 'Alert'],
          ['severity', 'Severity'],
          ['asset', 'Asset'],
          ['tier', 'Tier'],
          ['instance', 'Instance'],
        ]),
      ],
      sortBy='Severity',
      decimals=0,
    ),
  ]);

  {
    id: null,
    uid: c.binancePMDashboardUid,
    title: c.binancePMDashboardTitle,
    description: 'Collateral rates of Binance Portfolio Margin, their drops, and the health of binance-pm-exporter.',
    tags: c.binancePMDashboardTags,
    timezone: '',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-7d', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        p.alertAnnotation(
          'Rate drops',
          'red',
          'BinancePMCollateralRateDropped',
          '{{asset}} collateral rate dropped',
          '{{asset}} dropped to {{dropped_to}} ({{severity}})',
          'asset'
        ),
        p.alertAnnotation(
          'Tier rate drops',
          'orange',
          'BinancePMTieredCollateralRateDropped',
          '{{asset}} tier {{tier}} collateral rate dropped',
          '{{asset}} tier {{tier}} dropped to {{dropped_to}} ({{severity}})',
          'asset,tier'
        ),
      ],
    },
    templating: {
      list: [
        {
          type: 'datasource',
          name: 'datasource',
          label: 'Data source',
          query: 'prometheus',
          regex: '',
          current: {},
          options: [],
          refresh: 1,
          hide: 0,
          multi: false,
          includeAll: false,
          skipUrlSync: false,
        },
        p.variable('job', 'Job', 'label_values(binance_pm_up{%s}, job)' % c.binancePMSelector),
        p.variable('instance', 'Instance', 'label_values(binance_pm_up{job=~"$job"}, instance)'),
        p.variable('asset', 'Asset', 'label_values(%s, asset)' % p.series('binance_pm_collateral_rate')),
        p.variable('account', 'Account', 'label_values(%s, account)' % p.series('binance_pm_account_info')),
      ],
    },
    panels: p.layout([ratesRow, tiersRow, accountsRow, healthRow]),
  }
