// The recording and alerting rules: prometheus/alerts.yml and the Kubernetes PrometheusRule.
local util = import 'util.libsonnet';

{
  local c = $._config,
  local sel(extra=[]) = util.selector(c.binancePMSelector, extra),
  local oneLine = util.oneLine,
  local runbook(alert) = std.format(c.binancePMRunbookURLPattern, std.asciiLower(alert)),
  local dashboard = c.binancePMGrafanaURL + '/d/' + c.binancePMDashboardUid,
  local assetDashboard =
    dashboard + '?var-job={{ $labels.job | urlquery }}&var-asset={{ $labels.asset | urlquery }}',
  local instanceDashboard =
    dashboard + '?var-job={{ $labels.job | urlquery }}{{ with $labels.instance }}&var-instance={{ . | urlquery }}{{ end }}',
  local annotations(alert, summary, description, url=dashboard) = {
    summary: oneLine(summary),
    description: oneLine(description),
    runbook_url: runbook(alert),
    dashboard_url: url,
  },

  // Series recorded once per evaluation, one per asset (and tier) and job however many exporter
  // instances report it: the rate is a fact about Binance, not about an instance. The alerts
  // read these, so an HA pair of exporters gives one alert per asset.
  local rate = 'job_asset:binance_pm_collateral_rate:max',
  local seen = 'job_asset:binance_pm_collateral_rate:seen_timestamp_seconds',
  local listSeen = 'job:binance_pm_collateral_rate:seen_timestamp_seconds',
  local tierRate = 'job_asset_tier:binance_pm_tiered_collateral_rate:max',
  local tierFloor = 'job_asset_tier:binance_pm_tiered_collateral_floor_usd:max',
  local tierCap = 'job_asset_tier:binance_pm_tiered_collateral_cap_usd:max',

  local indent(text) = std.strReplace(text, '\n', '\n  '),
  local over(fn, series) = std.format('%s_over_time(%s[%s])', [fn, series, c.binancePMWindow]),
  // A query of one recorded series for the alert's own labels, as an annotation template uses it.
  local lookup(fn, series, labels) =
    std.format(
      'printf "%s_over_time(%s{%s}[%s])" %s',
      [
        fn,
        series,
        std.join(',', [l + '=%q' for l in labels]),
        c.binancePMWindow,
        std.join(' ', ['$labels.' + l for l in labels]),
      ]
    ),
  local query(series, labels) =
    std.format(
      'printf "%s{%s}" %s',
      [series, std.join(',', [l + '=%q' for l in labels]), std.join(' ', ['$labels.' + l for l in labels])]
    ),
  local printed(query) =
    '{{ with %s | query }}{{ . | first | value | printf "%%.4f" }}{{ else }}?{{ end }}' % query,

  // Prometheus durations in seconds and back, for the memory's lookback ('7d' + '12h').
  local durationSeconds(text) =
    local units = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    local unit = text[std.length(text) - 1];
    std.parseInt(std.substr(text, 0, std.length(text) - 1)) * units[unit],
  local durationText(secondsTotal) =
    if secondsTotal % 86400 == 0 then '%dd' % (secondsTotal / 86400)
    else if secondsTotal % 3600 == 0 then '%dh' % (secondsTotal / 3600)
    else if secondsTotal % 60 == 0 then '%dm' % (secondsTotal / 60)
    else '%ds' % secondsTotal,
  // The remembered rate is written again at least this often, so that after a gap of up to
  // gapMemory the last one is within the lookback.
  local refreshEvery = '12h',
  local lookback = durationText(durationSeconds(c.binancePMGapMemory) + durationSeconds(refreshEvery)),

  // The drop state of a recorded rate: recording rules that carry a rate's history through
  // gaps, and the drop alerts that read them. For `base` ('job_asset:binance_pm_collateral_rate')
  // and its recorded rate `effective` (the rate as Binance counts it):
  //
  //   :remembered  the effective rate, written when it changes (and every refreshEvery): a sparse
  //                series, so looking back over gapMemory costs a few samples per asset.
  //   :previous    the effective rate before this evaluation, however long ago (up to gapMemory):
  //                the last remembered rate, read before this evaluation remembers its own (and
  //                recorded through gaps too).
  //   :high        the highest previous rate of the window; :last, the last rate of the window.
  //   :drop_from   during a drop, the rate before it (the highest previous rate of the window,
  //                kept for the whole drop); else the last rate.
  //   :drop_to     during a drop, the lowest rate since it started; else the last rate.
  //
  // A drop lasts while the last rate is below the highest previous rate of the window. The
  // previous rate carries the rate before a gap of any length into the window, so a cut made
  // while the exporter, Prometheus or Binance was away fires when the data is back, for a whole
  // window. Range functions read only the samples that exist: a gap neither starts nor ends a
  // drop. drop_from is constant during a drop and drop_to only falls, so an alert's severity
  // never changes: a further cut is a new label set (dropped_to), a rate back at or above the
  // rate before the drop ends it at once, and a cut after that is a new alert.
  local dropState(base, effective, labels, effectiveExpr=null) =
    local on = 'on (%s)' % std.join(', ', labels);
    local remembered = base + ':remembered', previous = base + ':previous';
    local high = base + ':high', last = base + ':last';
    local from = base + ':drop_from', to = base + ':drop_to';
    local dropping = std.format('%s < %s %s', [last, on, high]);
    [
      { record: previous, expr: std.format('last_over_time(%s[%s])', [remembered, lookback]) },
    ] + (
      if effectiveExpr == null then [] else [{ record: effective, expr: effectiveExpr }]
    ) + [
      {
        record: remembered,
        expr: std.format(
          '%s != %s %s\nor\n%s unless %s %s\nor\n%s unless %s last_over_time(%s[%s])',
          [effective, on, previous, effective, on, previous, effective, on, remembered, refreshEvery]
        ),
      },
      { record: high, expr: over('max', previous) },
      { record: last, expr: over('last', effective) },
      {
        record: from,
        expr: std.format(
          '(%s > %s %s or %s)\nand %s (%s)\nor %s', [over('last', from), on, high, high, on, dropping, last]
        ),
      },
      {
        record: to,
        expr: std.format(
          '(%s < %s %s or %s)\nand %s (%s)\nor %s', [over('last', to), on, last, last, on, dropping, last]
        ),
      },
    ],

  // The drop alerts of a drop state, with severity by the size of the fall.
  local dropRules(alert, base, effective, labels, texts) =
    local on = 'on (%s)' % std.join(', ', labels);
    local from = base + ':drop_from', to = base + ':drop_to';
    local dropping = std.format('%s < %s %s', [to, on, from]);
    // Rates have four decimals: half a step of tolerance keeps 0.60 -> 0.40 critical in floats.
    local big = std.format(
      '%s - %s %s >= %s\nor %s == 0', [from, on, to, util.number(c.binancePMCriticalDrop - 0.00005), to]
    );
    local rule(severity, expr) = {
      alert: alert,
      expr: expr,
      labels: { severity: severity, dropped_to: '{{ printf "%.4f" $value }}' },
      annotations: annotations(
        alert,
        texts.summary(printed(query(from, labels))),
        texts.description(
          printed(query(from, labels)),
          '{{ with %s | query }}{{ with . | first | value }}{{ if ne . $value }} (it is %s now){{ end }}{{ end }}{{ end }}'
          % [lookup('last', effective, labels), '{{ printf "%.4f" . }}'],
          if severity == c.binancePMCriticalDropSeverity then
            std.format('It fell by %s or more, or to 0: %s.', [util.number(c.binancePMCriticalDrop), severity])
          else ''
        ),
        assetDashboard
      ),
    };
    [
      rule(c.binancePMCriticalDropSeverity, std.format('%s\nand %s (\n  %s\n)', [dropping, on, indent(big)])),
      rule(c.binancePMDropSeverity, std.format('%s\nunless %s (\n  %s\n)', [dropping, on, indent(big)])),
    ],

  local duration = std.format(
    'It fires for %s from the drop, and ends when the rate is back up.', [c.binancePMWindow]
  ),

  local base = 'job_asset:binance_pm_collateral_rate',
  local effective = base + ':effective',
  local tierBase = 'job_asset_tier:binance_pm_tiered_collateral_rate',

  local flatDrops = dropRules(
    'BinancePMCollateralRateDropped',
    base,
    effective,
    ['job', 'asset'],
    {
      summary(old)::
        '{{ $labels.asset }} collateral rate dropped from %s to {{ printf "%%.4f" $value }}' % old,
      description(old, now, severity):: |||
        Binance lowered the Portfolio Margin collateral rate of {{ $labels.asset }} from %s
        (the rate before the drop) to {{ printf "%%.4f" $value }}%s.{{ with printf "%s{job=%%q,asset=%%q} unless %s" $labels.job $labels.asset | query }}
        {{ $labels.asset }} is no longer in Binance's list of collateral rates: Binance counts
        it at its default rate of %s.{{ end }} {{ $labels.asset }} held in a Portfolio Margin
        account now counts for less collateral: check the account's margin ratio (uniMMR) and
        Binance's announcements.%s %s A further drop fires a new alert. %s
      ||| % [
        old,
        now,
        effective,
        rate,
        util.number(c.binancePMDelistedRate),
        $.accountsInDropDescription,
        severity,
        duration,
      ],
    },
  ),

  local tierDrops = dropRules(
    'BinancePMTieredCollateralRateDropped',
    tierBase,
    tierRate,
    ['job', 'asset', 'tier'],
    {
      summary(old)::
        '{{ $labels.asset }} tier {{ $labels.tier }} collateral rate dropped from %s to {{ printf "%%.4f" $value }}' % old,
      description(old, now, severity):: |||
        Binance lowered the Portfolio Margin Pro collateral rate of {{ $labels.asset }} tier
        {{ $labels.tier }} from %s (the rate before the drop) to
        {{ printf "%%.4f" $value }}%s. The tier covers the part of an account's
        {{ $labels.asset }} worth
        {{ with %s | query }}{{ . | first | value | humanize }}{{ else }}?{{ end }} USD
        {{ with %s | query }}{{ with . | first | value }}{{ if lt . 99999999999.0 }}to {{ humanize . }} USD{{ else }}and more{{ end }}{{ end }}{{ else }}to ? USD{{ end }};
        that part now counts for less collateral: check the account's margin ratio (uniMMR)
        and Binance's announcements.{{ with printf "changes(%s{job=%%q,asset=%%q}[%s]) + changes(%s{job=%%q,asset=%%q}[%s]) > 0" $labels.job $labels.asset $labels.job $labels.asset | query }}
        The bounds of {{ $labels.asset }}'s tiers changed in the last %s too: tier numbers may
        now stand for other USD ranges, compare the whole tier table with the
        announcement.{{ end }} %s A further drop fires a new alert. %s
      ||| % [
        old,
        now,
        lookup('last', tierFloor, ['job', 'asset', 'tier']),
        lookup('last', tierCap, ['job', 'asset', 'tier']),
        tierFloor,
        c.binancePMWindow,
        tierCap,
        c.binancePMWindow,
        c.binancePMWindow,
        severity,
        duration,
      ],
    },
  ),

  local watched = [
    std.format(
      'label_replace(%s < %s, "threshold", "%s", "", "")',
      [
        over('last', rate + util.selector('', ['asset=' + std.escapeStringJson(asset)])),
        util.number(c.binancePMWatchedAssets[asset]),
        util.rate(c.binancePMWatchedAssets[asset]),
      ]
    )
    for asset in std.objectFields(c.binancePMWatchedAssets)
  ],

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'binance-pm-collateral',
        rules: [
          {
            record: rate,
            expr: std.format('max by (job, asset) (binance_pm_collateral_rate%s)', sel()),
          },
          // When each asset, and the list as a whole, was last seen: an asset disappeared when
          // the latest list lacks it, however long ago that list was fetched.
          { record: seen, expr: std.format('timestamp(%s)', rate) },
          { record: listSeen, expr: std.format('max by (job) (%s)', seen) },
        ] + dropState(
          base,
          effective,
          ['job', 'asset'],
          // The rate as Binance counts it: an asset remembered (within gapMemory) but missing
          // from the latest list, while the job has a list, counts at the default rate.
          std.format(
            '%s\nor\n(\n  (0 * %s + %s unless on (job, asset) %s)\n  and on (job) %s\n)',
            [rate, base + ':previous', util.number(c.binancePMDelistedRate), rate, rate]
          ),
        ) + flatDrops + [
          {
            alert: 'BinancePMManyCollateralRatesDropped',
            expr: std.format(
              'count by (job) (%s < on (job, asset) %s) >= %d',
              [base + ':drop_to', base + ':drop_from', c.binancePMManyDropsCount]
            ),
            labels: { severity: c.binancePMManyDropsSeverity },
            annotations: annotations(
              'BinancePMManyCollateralRatesDropped',
              'Binance cut the collateral rates of {{ $value }} assets',
              |||
                Binance lowered the Portfolio Margin collateral rate of {{ $value }} assets
                within %s (%d or more fire this alert):{{ range printf "%s < on (job, asset) %s" $labels.job $labels.job | query | sortByLabel "asset" }}
                {{ .Labels.asset }}{{ end }}. A cut of many assets at once lowers the margin of
                most Portfolio Margin accounts: check the margin ratio (uniMMR) of every
                account and Binance's announcement. Each asset also has its own
                BinancePMCollateralRateDropped alert.
              ||| % [
                c.binancePMWindow,
                c.binancePMManyDropsCount,
                base + ':drop_to{job=%q}',
                base + ':drop_from{job=%q}',
              ],
            ),
          },
        ] + (
          if std.length(watched) == 0 then [] else [{
            alert: 'BinancePMCollateralRateBelowThreshold',
            expr: std.join('\nor\n', watched),
            labels: { severity: c.binancePMWatchedSeverity },
            annotations: annotations(
              'BinancePMCollateralRateBelowThreshold',
              '{{ $labels.asset }} collateral rate {{ printf "%.4f" $value }} is below {{ $labels.threshold }}',
              |||
                The Portfolio Margin collateral rate of {{ $labels.asset }} is
                {{ printf "%%.4f" $value }}, below the threshold of {{ $labels.threshold }} set
                for it (binancePMWatchedAssets in the mixin's config). It fires as long as the rate stays
                below, through data gaps shorter than %s. Check the margin ratio (uniMMR) of
                accounts holding {{ $labels.asset }}, and reduce the position or add
                collateral if it gets close to the maintenance level.
              ||| % c.binancePMWindow,
              assetDashboard
            ),
          }]
        ) + [
          {
            alert: 'BinancePMCollateralAssetDisappeared',
            expr: std.format(
              '%s\nand\n(%s < on (job) group_left () %s)',
              [over('last', rate), over('last', seen), over('last', listSeen)]
            ),
            'for': c.binancePMDisappearedFor,
            labels: { severity: c.binancePMSeverities.BinancePMCollateralAssetDisappeared },
            annotations: annotations(
              'BinancePMCollateralAssetDisappeared',
              '{{ $labels.asset }} is no longer in the collateral rate list',
              |||
                {{ $labels.asset }} (last collateral rate {{ printf "%%.4f" $value }}) has been
                missing from the collateral rate list for %s: the latest list the exporters
                of job {{ $labels.job }} fetched lacks it. Binance counts unlisted assets at its
                default rate of 0.1. Check Binance's announcements; if the asset is still listed
                there, check binance_pm_invalid_entries_total and the exporter's log for entries
                it skipped. It resolves when the asset is back, or %s after it left.
              ||| % [c.binancePMDisappearedFor, c.binancePMWindow],
              assetDashboard
            ),
          },
        ],
      },

      // Portfolio Margin Pro tiers: only exported when the exporter has an API secret (v2).
      // Without one these series do not exist and none of these rules can fire.
      {
        name: 'binance-pm-collateral-tiers',
        rules: [
          {
            record: tierRate,
            expr: std.format(
              'max by (job, asset, tier) (binance_pm_tiered_collateral_rate%s)', sel()
            ),
          },
          {
            record: tierFloor,
            expr: std.format(
              'max by (job, asset, tier) (binance_pm_tiered_collateral_floor_usd%s)', sel()
            ),
          },
          {
            record: tierCap,
            expr: std.format(
              'max by (job, asset, tier) (binance_pm_tiered_collateral_cap_usd%s)', sel()
            ),
          },
        ] + dropState(tierBase, tierRate, ['job', 'asset', 'tier']) + tierDrops + [
          // A change of an asset's tier brackets (a floor or a cap moved, a tier added or
          // removed): a lower cap on a better tier cuts the collateral of larger holdings while
          // no tier's rate falls, which the drop rule cannot see. changes() only compares
          // samples that exist, so gaps and restarts do not fire it.
          {
            alert: 'BinancePMTieredCollateralBracketsChanged',
            expr: std.format(
              'count by (job, asset) (changes(%s[%s]) + changes(%s[%s]) > 0)',
              [tierFloor, c.binancePMWindow, tierCap, c.binancePMWindow]
            ),
            labels: { severity: c.binancePMSeverities.BinancePMTieredCollateralBracketsChanged },
            annotations: annotations(
              'BinancePMTieredCollateralBracketsChanged',
              '{{ $labels.asset }} collateral tier brackets changed',
              |||
                Binance changed the Portfolio Margin Pro collateral tiers of
                {{ $labels.asset }}: the floor or cap of {{ $value }} tier(s) moved in the last
                %s. Tiers are numbered from the lowest floor, so a tier number may now stand
                for another USD range, and holdings in a range can count for less even though
                no tier's rate fell. Floors now:{{ range $i, $tier := printf "sort(%s{job=%%q,asset=%%q})" $labels.job $labels.asset | query }}{{ if $i }},{{ end }}
                tier {{ $tier.Labels.tier }} {{ $tier.Value | humanize }} USD{{ end }}. Compare
                them with Binance's announcement and check the margin ratio (uniMMR) of
                accounts holding {{ $labels.asset }}. The alert resolves by itself %s after the
                change.
              ||| % [c.binancePMWindow, tierFloor, c.binancePMWindow],
              assetDashboard
            ),
          },
          {
            alert: 'BinancePMTieredUpstreamDown',
            expr: std.format('binance_pm_tiered_up%s == 0', sel()),
            'for': c.binancePMUpstreamDownFor,
            labels: { severity: c.binancePMSeverities.BinancePMTieredUpstreamDown },
            annotations: annotations(
              'BinancePMTieredUpstreamDown',
              'Binance tiered collateral rates cannot be fetched by {{ $labels.instance }}',
              |||
                The exporter's signed requests for the tiered (v2) collateral rates have been
                failing for %s.
                {{ with printf "sort_desc(sum by (reason) (increase(binance_pm_upstream_errors_total{job=%%q,instance=%%q,endpoint=%%q}[15m])) > 0)" $labels.job $labels.instance "v2" | query }}Errors in the last 15 minutes by reason:{{ range . }} {{ .Labels.reason }}{{ end }}.{{ else }}No error counted in the last 15 minutes.{{ end }}
                The last good tiers are still exported until --max-stale runs out; after that
                tier drops cannot be seen. The flat v1 rates are fetched separately.
                client_error: the exporter's log names Binance's code (-1022: the API secret
                does not belong to the key; -21001: not a Portfolio Margin account; -1021: the
                clock is off, or raise --recv-window); auth: check the API key; timeout,
                connection: check the network; rate_limited, ip_banned: see the matching
                alerts.
              ||| % c.binancePMUpstreamDownFor,
              instanceDashboard
            ),
          },
        ],
      },

      {
        name: 'binance-pm-exporter',
        rules: [
          {
            alert: 'BinancePMUpstreamDown',
            expr: std.format('binance_pm_up%s == 0', sel()),
            'for': c.binancePMUpstreamDownFor,
            labels: { severity: c.binancePMSeverities.BinancePMUpstreamDown },
            annotations: annotations(
              'BinancePMUpstreamDown',
              'Binance collateral rates cannot be fetched by {{ $labels.instance }}',
              |||
                The exporter's requests to Binance have been failing for %s.
                {{ with printf "sort_desc(sum by (reason) (increase(binance_pm_upstream_errors_total{job=%%q,instance=%%q,endpoint=\"v1\"}[15m])) > 0)" $labels.job $labels.instance | query }}Errors in the last 15 minutes by reason:{{ range . }} {{ .Labels.reason }}{{ end }}.{{ else }}No error counted in the last 15 minutes.{{ end }}
                The last good rates are still exported until --max-stale runs out. auth: check
                the API key; restricted_location or forbidden: Binance refuses this IP;
                timeout, connection: check the network; rate_limited, ip_banned: see the
                matching alerts.
              ||| % c.binancePMUpstreamDownFor,
              instanceDashboard
            ),
          },
          {
            alert: 'BinancePMDataStale',
            expr: std.format(
              '(time() - binance_pm_last_success_timestamp_seconds%s > %d)\nand binance_pm_last_success_timestamp_seconds%s > 0',
              [sel(), c.binancePMStaleAfterSeconds, sel()]
            ),
            labels: { severity: c.binancePMSeverities.BinancePMDataStale },
            annotations: annotations(
              'BinancePMDataStale',
              'Collateral rates from {{ $labels.instance }} are {{ $value | humanizeDuration }} old',
              |||
                The last successful fetch of the collateral rates by {{ $labels.instance }} was
                {{ $value | humanizeDuration }} ago (more than %d seconds). The exporter stops
                exporting rates --max-stale after the last success, so rate drops cannot be
                seen through it now. Look at BinancePMUpstreamDown and the exporter's log; if
                binance_pm_up is still 1, the exporter is stuck: restart it.
              ||| % c.binancePMStaleAfterSeconds,
              instanceDashboard
            ),
          },
          {
            alert: 'BinancePMRateLimited',
            expr: std.format(
              'increase(binance_pm_upstream_errors_total%s[%s]) > 0',
              [sel(['reason="rate_limited"']), c.binancePMRateLimitWindow]
            ),
            labels: { severity: c.binancePMSeverities.BinancePMRateLimited },
            annotations: annotations(
              'BinancePMRateLimited',
              'Binance rate-limited {{ $labels.instance }} (HTTP 429)',
              |||
                Binance answered HTTP 429 to {{ $labels.instance }} in the last %s: the
                public IP used up its request weight (%s per minute, shared by every process
                behind that IP). The exporter waits for Retry-After before asking again, but
                going on after 429s gets the IP banned (HTTP 418) for all of them. Find what
                else spends the weight (binance_pm_upstream_used_weight_1m shows the total),
                raise --min-interval, and make sure only one exporter polls from this IP.
              ||| % [c.binancePMRateLimitWindow, util.thousands(c.binancePMIPWeightBudget)],
              instanceDashboard
            ),
          },
          {
            alert: 'BinancePMIPBanned',
            expr: std.format(
              'increase(binance_pm_upstream_errors_total%s[%s]) > 0',
              [sel(['reason="ip_banned"']), c.binancePMRateLimitWindow]
            ),
            labels: { severity: c.binancePMSeverities.BinancePMIPBanned },
            annotations: annotations(
              'BinancePMIPBanned',
              'Binance banned the IP of {{ $labels.instance }} (HTTP 418)',
              |||
                Binance answered HTTP 418 to {{ $labels.instance }} in the last %s: the
                public IP is banned after ignoring 429s, for 2 minutes up to 3 days, and every
                process behind it (trading bots included) is refused. The exporter waits for
                Retry-After. Stop whatever keeps sending requests from this IP, then raise
                --min-interval.
              ||| % c.binancePMRateLimitWindow,
              instanceDashboard
            ),
          },
          {
            alert: 'BinancePMIPWeightNearLimit',
            expr: std.format(
              'binance_pm_upstream_used_weight_1m%s > %d',
              [sel(), c.binancePMIPWeightBudget * c.binancePMIPWeightNearLimitRatio]
            ),
            'for': c.binancePMIPWeightNearLimitFor,
            labels: { severity: c.binancePMSeverities.BinancePMIPWeightNearLimit },
            annotations: annotations(
              'BinancePMIPWeightNearLimit',
              'Binance IP weight at {{ $value | printf "%%.0f" }} of %s per minute' % util.thousands(c.binancePMIPWeightBudget),
              |||
                Binance reports {{ $value | printf "%%.0f" }} of the %s request weight per
                minute used by the IP of {{ $labels.instance }} for %s (over %d%%). The budget
                is shared by every process behind that IP; the exporter uses 50 per request.
                Past %s Binance answers 429, then bans the IP. Find the process that spends
                the weight.
              ||| % [
                util.thousands(c.binancePMIPWeightBudget),
                c.binancePMIPWeightNearLimitFor,
                c.binancePMIPWeightNearLimitRatio * 100,
                util.thousands(c.binancePMIPWeightBudget),
              ],
              instanceDashboard
            ),
          },
          {
            alert: 'BinancePMExporterDown',
            expr: std.format('up%s == 0 or absent(up%s)', [sel(), sel()]),
            'for': c.binancePMExporterDownFor,
            labels: { severity: c.binancePMSeverities.BinancePMExporterDown },
            annotations: annotations(
              'BinancePMExporterDown',
              'binance-pm-exporter {{ with $labels.instance }}{{ . }} {{ end }}is not scraped',
              |||
                Prometheus has not scraped {{ with $labels.instance }}{{ . }}{{ else }}any
                target of %s{{ end }} successfully for %s, so no collateral rate and no rate
                drop can be seen through it. Check that the exporter runs (its /healthz answers
                200) and that Prometheus reaches it (Status > Targets); if the job is named
                otherwise, set binancePMSelector in the mixin's config.
              ||| % [c.binancePMSelector, c.binancePMExporterDownFor],
              instanceDashboard
            ),
          },
        ],
      },
    ],
  },
}
