// The Grafana dashboard; c is the mixin config. Rates are facts about Binance, not about an
// exporter: every rate query takes max by (asset) (and tier), so an HA pair shows each once.
function(c)
  local rates = 'max by (asset) (binance_pm_collateral_rate{job=~"$job", instance=~"$instance"})';
  local highs = 'max by (asset) (max_over_time(binance_pm_collateral_rate{job=~"$job", instance=~"$instance"}[$__range]))';
  local selected = 'binance_pm_collateral_rate{job=~"$job", instance=~"$instance", asset=~"$asset"}';
  local tiered = 'binance_pm_tiered_collateral_rate{job=~"$job", instance=~"$instance", asset=~"$asset"}';
  local tierBy(metric) = 'max by (asset, tier) (%s{job=~"$job", instance=~"$instance", asset=~"$asset"})' % metric;
  // The assets of the selection whose rate moved most in the time range ("All" stays readable).
  local movers(series) = std.format(
    'topk(%d, max by (asset) (max_over_time(%s[$__range] @ end()) - min_over_time(%s[$__range] @ end())))',
    [c.dashboardTopAssets, series, series]
  );
  // Firing alerts of the chosen jobs and instances; the per-asset alerts have no instance.
  local alerts = 'ALERTS{alertname=~"BinancePM.+", alertstate="firing", job=~"$job", instance=~"$instance|"}';
  local historyLink(field) = {
    title: 'History of ${%s}' % field,
    url: '/d/' + c.dashboardUid + '?${job:queryparam}&var-asset=${%s}&viewPanel=10&${__url_time_range}&${datasource:queryparam}' % field,
  };
  {
    id: null,
    uid: c.dashboardUid,
    title: c.dashboardTitle,
    description: 'Collateral rates of Binance Portfolio Margin, their drops, and the health of binance-pm-exporter.',
    tags: c.dashboardTags,
    timezone: '',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: {
      from: 'now-7d',
      to: 'now',
    },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: {
            type: 'grafana',
            uid: '-- Grafana --',
          },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        {
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          enable: true,
          hide: false,
          iconColor: 'red',
          name: 'Rate drops',
          expr: 'ALERTS{alertname="BinancePMCollateralRateDropped", alertstate="firing", job=~"$job", asset=~"$asset"}',
          step: '1m',
          titleFormat: '{{asset}} collateral rate dropped',
          textFormat: '{{asset}} dropped to {{dropped_to}} ({{severity}})',
          tagKeys: 'asset',
          useValueForTime: false,
        },
        {
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          enable: true,
          hide: false,
          iconColor: 'orange',
          name: 'Tier rate drops',
          expr: 'ALERTS{alertname="BinancePMTieredCollateralRateDropped", alertstate="firing", job=~"$job", asset=~"$asset"}',
          step: '1m',
          titleFormat: '{{asset}} tier {{tier}} collateral rate dropped',
          textFormat: '{{asset}} tier {{tier}} dropped to {{dropped_to}} ({{severity}})',
          tagKeys: 'asset,tier',
          useValueForTime: false,
        },
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
        {
          type: 'query',
          name: 'job',
          label: 'Job',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          definition: 'label_values(binance_pm_up{%s}, job)' % c.selector,
          query: {
            query: 'label_values(binance_pm_up{%s}, job)' % c.selector,
            refId: 'PrometheusVariableQueryEditor-VariableQuery',
          },
          refresh: 2,
          regex: '',
          sort: 1,
          multi: true,
          includeAll: true,
          allValue: '.+',
          current: {
            selected: true,
            text: [
              'All',
            ],
            value: [
              '$__all',
            ],
          },
          options: [],
          hide: 0,
          skipUrlSync: false,
        },
        {
          type: 'query',
          name: 'instance',
          label: 'Instance',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          definition: 'label_values(binance_pm_up{job=~"$job"}, instance)',
          query: {
            query: 'label_values(binance_pm_up{job=~"$job"}, instance)',
            refId: 'PrometheusVariableQueryEditor-VariableQuery',
          },
          refresh: 2,
          regex: '',
          sort: 1,
          multi: true,
          includeAll: true,
          allValue: '.+',
          current: {
            selected: true,
            text: [
              'All',
            ],
            value: [
              '$__all',
            ],
          },
          options: [],
          hide: 0,
          skipUrlSync: false,
        },
        {
          type: 'query',
          name: 'asset',
          label: 'Asset',
          datasource: {
            type: 'prometheus',
            uid: '${datasource}',
          },
          definition: 'label_values(binance_pm_collateral_rate{job=~"$job", instance=~"$instance"}, asset)',
          query: {
            query: 'label_values(binance_pm_collateral_rate{job=~"$job", instance=~"$instance"}, asset)',
            refId: 'PrometheusVariableQueryEditor-VariableQuery',
          },
          refresh: 2,
          regex: '',
          sort: 1,
          multi: true,
          includeAll: true,
          allValue: '.+',
          current: {
            selected: true,
            text: [
              'All',
            ],
            value: [
              '$__all',
            ],
          },
          options: [],
          hide: 0,
          skipUrlSync: false,
        },
      ],
    },
    panels: [
      {
        type: 'row',
        id: 1,
        title: 'Collateral rates',
        collapsed: false,
        gridPos: {
          x: 0,
          y: 0,
          w: 24,
          h: 1,
        },
        panels: [],
      },
      {
        type: 'stat',
        id: 2,
        title: 'Assets listed',
        description: 'Number of assets in the last good response from Binance (binance_pm_collateral_assets).',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'max(binance_pm_collateral_assets{job=~"$job", instance=~"$instance"})',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 3,
        title: 'Binance API status',
        description: "Whether the exporter's last request to Binance succeeded (binance_pm_up). DOWN means the last good rates are being served until --max-stale runs out.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 4,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'min(binance_pm_up{job=~"$job", instance=~"$instance"})',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'red',
                  value: null,
                },
                {
                  color: 'green',
                  value: 1,
                },
              ],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': {
                    text: 'DOWN',
                    color: 'red',
                    index: 0,
                  },
                  '1': {
                    text: 'UP',
                    color: 'green',
                    index: 1,
                  },
                },
              },
            ],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 4,
        title: 'Data age',
        description: 'Seconds since the exporter last fetched the rates successfully. The exporter drops the rates --max-stale (default 5m) after the last success; the BinancePMDataStale alert fires past 10m.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 8,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'max(time() - binance_pm_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} and binance_pm_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} > 0)',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
                {
                  color: 'orange',
                  value: 300,
                },
                {
                  color: 'red',
                  value: 600,
                },
              ],
            },
            mappings: [],
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 5,
        title: 'Assets that fell',
        description: "Each asset whose rate is now below its highest value in the dashboard's time range, with the change; 0 when none fell. Click an asset for its history.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 12,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: '(%s - %s) < 0 or on () vector(0)' % [rates, highs],
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '{{asset}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 4,
            links: [historyLink('__field.labels.asset')],
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'red',
                  value: null,
                },
                {
                  color: 'green',
                  value: 0,
                },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value_and_name',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 6,
        title: 'Alerts firing',
        description: "Alerts of this exporter's rules (prometheus/alerts.yml) firing now. Needs the rules loaded in this Prometheus.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 16,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'count(%s) or vector(0)' % alerts,
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
                {
                  color: 'red',
                  value: 1,
                },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 7,
        title: 'Exporter version',
        description: 'binance_pm_exporter_build_info of the selected instances.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 20,
          y: 1,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'binance_pm_exporter_build_info{job=~"$job", instance=~"$instance"}',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '{{version}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'none',
          graphMode: 'none',
          textMode: 'name',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'table',
        id: 8,
        title: 'Current collateral rates',
        description: "Every asset Binance lists, with its rate at the start and at the end of the dashboard's time range and the change between the two. Click a column header to sort; the default order puts the largest drops first.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 5,
          w: 12,
          h: 14,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: rates,
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{asset}}',
            refId: 'A',
          },
        ],
        transformations: [
          {
            id: 'reduce',
            options: {
              mode: 'seriesToRows',
              reducers: [
                'lastNotNull',
                'firstNotNull',
                'diff',
                'min',
                'max',
              ],
              labelsToFields: true,
              includeTimeField: false,
            },
          },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Field: true,
                job: true,
                instance: true,
                __name__: true,
              },
              indexByName: {
                asset: 0,
                'Last *': 1,
                'First *': 2,
                Difference: 3,
                Min: 4,
                Max: 5,
              },
              renameByName: {
                asset: 'Asset',
                'Last *': 'Rate now',
                'First *': 'Rate at range start',
                Difference: 'Change',
                Min: 'Lowest',
                Max: 'Highest',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 4,
            custom: {
              align: 'auto',
              filterable: true,
              cellOptions: {
                type: 'auto',
              },
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            color: {
              mode: 'thresholds',
            },
          },
          overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Change',
              },
              properties: [
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'red',
                        value: null,
                      },
                      {
                        color: 'text',
                        value: 0,
                      },
                      {
                        color: 'green',
                        value: 1e-09,
                      },
                    ],
                  },
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Asset',
              },
              properties: [
                {
                  id: 'custom.width',
                  value: 120,
                },
                {
                  id: 'links',
                  value: [historyLink('__data.fields.Asset')],
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          sortBy: [
            {
              displayName: 'Change',
              desc: false,
            },
          ],
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
        },
      },
      {
        type: 'table',
        id: 9,
        title: 'Drops in the range',
        description: "Assets whose rate is now lower than the highest value it had in the dashboard's time range: from what to what, and by how much. Empty when nothing fell.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 12,
          y: 5,
          w: 12,
          h: 14,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: highs + ' > ' + rates,
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: rates + ' < ' + highs,
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'B',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: '(%s - %s) < 0' % [rates, highs],
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'C',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: '(%s - %s) / %s < 0' % [rates, highs, highs],
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'D',
          },
        ],
        transformations: [
          {
            id: 'merge',
            options: {},
          },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
                __name__: true,
              },
              indexByName: {
                asset: 0,
                'Value #A': 1,
                'Value #B': 2,
                'Value #C': 3,
                'Value #D': 4,
              },
              renameByName: {
                asset: 'Asset',
                'Value #A': 'From (range high)',
                'Value #B': 'To (now)',
                'Value #C': 'Change',
                'Value #D': 'Change %',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 4,
            custom: {
              align: 'auto',
              filterable: true,
              cellOptions: {
                type: 'auto',
              },
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            color: {
              mode: 'thresholds',
            },
          },
          overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Asset',
              },
              properties: [
                {
                  id: 'links',
                  value: [historyLink('__data.fields.Asset')],
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Change',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
                {
                  id: 'color',
                  value: {
                    mode: 'fixed',
                    fixedColor: 'red',
                  },
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Change %',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'percentunit',
                },
                {
                  id: 'decimals',
                  value: 1,
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
                {
                  id: 'color',
                  value: {
                    mode: 'fixed',
                    fixedColor: 'red',
                  },
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          sortBy: [
            {
              displayName: 'Change %',
              desc: false,
            },
          ],
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
        },
      },
      {
        type: 'timeseries',
        id: 10,
        title: 'Collateral rate history',
        description: 'Rates of the assets chosen in the asset selector. Rates change in steps, by Binance announcement; drop alerts appear as annotations.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 19,
          w: 24,
          h: 10,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: std.format('max by (asset) (%s) and on (asset) %s', [selected, movers(selected)]),
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{asset}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'stepAfter',
              lineWidth: 2,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            decimals: 4,
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'row',
        id: 20,
        title: 'Portfolio Margin Pro tiers',
        collapsed: false,
        gridPos: {
          x: 0,
          y: 29,
          w: 24,
          h: 1,
        },
        panels: [],
      },
      {
        type: 'stat',
        id: 21,
        title: 'Tiered rates API',
        description: "Whether the exporter's last signed request for the tiered rates (GET /sapi/v2/portfolio/collateralRate) succeeded (binance_pm_tiered_up). Off: the exporter has no API secret, so it collects no tiers and this row stays empty; the flat rates above do not need one.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 30,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'min(binance_pm_tiered_up{job=~"$job", instance=~"$instance"})',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            mappings: [
              {
                type: 'value',
                options: {
                  '0': {
                    text: 'DOWN',
                    color: 'red',
                    index: 0,
                  },
                  '1': {
                    text: 'UP',
                    color: 'green',
                    index: 1,
                  },
                },
              },
            ],
            noValue: 'Off',
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 22,
        title: 'Tier data age',
        description: 'Seconds since the exporter last fetched the tiers successfully. The exporter drops the tiers --max-stale (default 5m) after the last success. Empty without an API secret.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 6,
          y: 30,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'max(time() - binance_pm_tiered_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} and binance_pm_tiered_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} > 0)',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
                {
                  color: 'orange',
                  value: 300,
                },
                {
                  color: 'red',
                  value: 600,
                },
              ],
            },
            mappings: [],
            decimals: 0,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'background',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 23,
        title: 'Assets with tiers',
        description: 'Assets with at least one valid tier in the last good tiered response (binance_pm_tiered_collateral_assets). Empty without an API secret.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 12,
          y: 30,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'max(binance_pm_tiered_collateral_assets{job=~"$job", instance=~"$instance"})',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            mappings: [],
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'stat',
        id: 24,
        title: 'Clock offset',
        description: "Binance's clock minus the exporter host's, as learned from /api/v3/time before signed requests (binance_pm_server_time_offset_seconds). Signed requests are corrected by it; seconds or more mean the host's clock is off (check its NTP). Empty without an API secret.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 18,
          y: 30,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'binance_pm_server_time_offset_seconds{job=~"$job", instance=~"$instance"}',
            format: 'time_series',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            mappings: [],
            decimals: 3,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          textMode: 'value',
          justifyMode: 'auto',
          orientation: 'auto',
        },
      },
      {
        type: 'table',
        id: 25,
        title: 'Collateral tiers',
        description: "Portfolio Margin Pro values collateral in tiers: the rate of a tier applies to the part of the asset's USD value between its floor (From) and its cap (To). Tier 1 has the lowest floor. Change in range: the rate now minus its highest value in the dashboard's time range (0 when it did not fall). Filtered by the asset selector. Empty unless the exporter has an API secret (the tiers come from the signed v2 endpoint).",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 34,
          w: 12,
          h: 14,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: tierBy('binance_pm_tiered_collateral_rate'),
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: tierBy('binance_pm_tiered_collateral_floor_usd'),
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'B',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: tierBy('binance_pm_tiered_collateral_cap_usd'),
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'C',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: std.format('%s - max by (asset, tier) (max_over_time(%s[$__range]))', [tierBy('binance_pm_tiered_collateral_rate'), tiered]),
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'D',
          },
        ],
        transformations: [
          {
            id: 'merge',
            options: {},
          },
          {
            id: 'convertFieldType',
            options: {
              fields: {},
              conversions: [
                {
                  targetField: 'tier',
                  destinationType: 'number',
                },
              ],
            },
          },
          {
            id: 'sortBy',
            options: {
              fields: {},
              sort: [
                {
                  field: 'tier',
                  desc: false,
                },
              ],
            },
          },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
                __name__: true,
              },
              indexByName: {
                asset: 0,
                tier: 1,
                'Value #B': 2,
                'Value #C': 3,
                'Value #A': 4,
                'Value #D': 5,
              },
              renameByName: {
                asset: 'Asset',
                tier: 'Tier',
                'Value #B': 'From (USD)',
                'Value #C': 'To (USD)',
                'Value #A': 'Rate',
                'Value #D': 'Change in range',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 4,
            custom: {
              align: 'auto',
              filterable: true,
              cellOptions: {
                type: 'auto',
              },
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            color: {
              mode: 'thresholds',
            },
          },
          overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Asset',
              },
              properties: [
                {
                  id: 'custom.width',
                  value: 110,
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Tier',
              },
              properties: [
                {
                  id: 'decimals',
                  value: 0,
                },
                {
                  id: 'custom.width',
                  value: 60,
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'From (USD)',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'currencyUSD',
                },
                {
                  id: 'decimals',
                  value: 0,
                },
                {
                  id: 'custom.width',
                  value: 130,
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'To (USD)',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'currencyUSD',
                },
                {
                  id: 'decimals',
                  value: 0,
                },
                {
                  id: 'custom.width',
                  value: 130,
                },
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '99999999999': {
                          text: 'no cap',
                          index: 0,
                        },
                      },
                    },
                  ],
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Change in range',
              },
              properties: [
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'red',
                        value: null,
                      },
                      {
                        color: 'text',
                        value: 0,
                      },
                    ],
                  },
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          sortBy: [
            {
              displayName: 'Asset',
              desc: false,
            },
          ],
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
        },
      },
      {
        type: 'timeseries',
        id: 26,
        title: 'Tiered rate history',
        description: 'Tier rates of the assets chosen in the asset selector, as steps. Tier drop alerts appear as annotations. Empty unless the exporter has an API secret.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 12,
          y: 34,
          w: 12,
          h: 14,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: std.format('%s and on (asset) %s', [tierBy('binance_pm_tiered_collateral_rate'), movers(tiered)]),
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{asset}} tier {{tier}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'stepAfter',
              lineWidth: 2,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            decimals: 4,
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'bottom',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'row',
        id: 11,
        title: 'Exporter health',
        collapsed: false,
        gridPos: {
          x: 0,
          y: 48,
          w: 24,
          h: 1,
        },
        panels: [],
      },
      {
        type: 'timeseries',
        id: 12,
        title: 'Binance API up',
        description: "1 when the exporter's last request to Binance succeeded, 0 when it failed (binance_pm_up).",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 49,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'binance_pm_up{job=~"$job", instance=~"$instance"}',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{instance}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'stepAfter',
              lineWidth: 2,
              fillOpacity: 20,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 13,
        title: 'Upstream errors by reason',
        description: 'Failed requests to Binance per interval, by endpoint and reason (timeout, connection, rate_limited = 429, ip_banned = 418, auth, forbidden, restricted_location = 451, server_error, client_error, invalid_response). Reasons with no error are hidden.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 8,
          y: 49,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'sum by (endpoint, reason) (increase(binance_pm_upstream_errors_total{job=~"$job", instance=~"$instance"}[$__rate_interval])) > 0',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{endpoint}} {{reason}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'bars',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
              stacking: {
                mode: 'normal',
                group: 'A',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            decimals: 0,
            min: 0,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 14,
        title: 'Upstream requests per minute',
        description: 'Requests the exporter sent to Binance, per minute. At most one per endpoint per --min-interval, whatever the scrape rate.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 16,
          y: 49,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'sum by (endpoint) (rate(binance_pm_upstream_requests_total{job=~"$job", instance=~"$instance"}[$__rate_interval])) * 60',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{endpoint}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 15,
        title: 'Upstream latency',
        description: 'Duration of requests to Binance: median, 90th and 99th percentile (from the histogram) and mean.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 57,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'histogram_quantile(0.5, sum by (le, endpoint) (rate(binance_pm_upstream_request_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: 'p50 {{endpoint}}',
            refId: 'A',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'histogram_quantile(0.9, sum by (le, endpoint) (rate(binance_pm_upstream_request_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: 'p90 {{endpoint}}',
            refId: 'B',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'histogram_quantile(0.99, sum by (le, endpoint) (rate(binance_pm_upstream_request_duration_seconds_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])))',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: 'p99 {{endpoint}}',
            refId: 'C',
          },
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'sum by (endpoint) (rate(binance_pm_upstream_request_duration_seconds_sum{job=~"$job", instance=~"$instance"}[$__rate_interval])) / sum by (endpoint) (rate(binance_pm_upstream_request_duration_seconds_count{job=~"$job", instance=~"$instance"}[$__rate_interval]))',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: 'mean {{endpoint}}',
            refId: 'D',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 16,
        title: 'Binance IP weight used (budget 12,000/min)',
        description: 'The request weight Binance counted for this IP in the current minute, as last reported in X-SAPI-USED-IP-WEIGHT-1M. The budget of 12,000 per minute is shared by every process behind the IP; the exporter spends 50 per request. Orange from 9,600 (80%, BinancePMIPWeightNearLimit), red at 12,000 (HTTP 429, then a ban).',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 8,
          y: 57,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'binance_pm_upstream_used_weight_1m{job=~"$job", instance=~"$instance"}',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{instance}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'line+area',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'transparent',
                  value: null,
                },
                {
                  color: 'orange',
                  value: 9600,
                },
                {
                  color: 'red',
                  value: 12000,
                },
              ],
            },
            min: 0,
            max: 12000,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 17,
        title: 'Age of the data',
        description: 'Seconds since the last successful fetch. It stays under --min-interval plus the scrape interval while all is well; past --max-stale (default 300 s) the exporter drops the rates, and BinancePMDataStale fires past 600 s. Nothing is shown before the first success.',
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 16,
          y: 57,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'time() - binance_pm_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} and binance_pm_last_success_timestamp_seconds{job=~"$job", instance=~"$instance"} > 0',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{instance}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            custom: {
              drawStyle: 'line',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'dashed',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'transparent',
                  value: null,
                },
                {
                  color: 'orange',
                  value: 300,
                },
                {
                  color: 'red',
                  value: 600,
                },
              ],
            },
            min: 0,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'timeseries',
        id: 18,
        title: 'Invalid entries skipped',
        description: "Entries of Binance's response the exporter skipped as invalid (missing or duplicate asset, rate not a number in [0, 1]), per interval. An asset skipped this way disappears from the rates.",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 0,
          y: 65,
          w: 8,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: 'sum by (instance) (increase(binance_pm_invalid_entries_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))',
            format: 'time_series',
            instant: false,
            range: true,
            legendFormat: '{{instance}}',
            refId: 'A',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            custom: {
              drawStyle: 'bars',
              lineInterpolation: 'linear',
              lineWidth: 1,
              fillOpacity: 60,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              thresholdsStyle: {
                mode: 'off',
              },
            },
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            decimals: 0,
            min: 0,
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'table',
            placement: 'right',
            showLegend: true,
            calcs: [
              'lastNotNull',
            ],
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        type: 'table',
        id: 19,
        title: 'Firing alerts',
        description: "This exporter's alerts firing now in the selected Prometheus (rules from prometheus/alerts.yml).",
        datasource: {
          type: 'prometheus',
          uid: '${datasource}',
        },
        gridPos: {
          x: 8,
          y: 65,
          w: 16,
          h: 8,
        },
        targets: [
          {
            datasource: {
              type: 'prometheus',
              uid: '${datasource}',
            },
            editorMode: 'code',
            expr: alerts,
            format: 'table',
            instant: true,
            range: false,
            legendFormat: '__auto',
            refId: 'A',
          },
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                Value: true,
                __name__: true,
                alertstate: true,
              },
              indexByName: {
                alertname: 0,
                severity: 1,
                asset: 2,
                tier: 3,
                instance: 4,
              },
              renameByName: {
                alertname: 'Alert',
                severity: 'Severity',
                asset: 'Asset',
                instance: 'Instance',
                tier: 'Tier',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'none',
            decimals: 0,
            custom: {
              align: 'auto',
              filterable: true,
              cellOptions: {
                type: 'auto',
              },
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'text',
                  value: null,
                },
              ],
            },
            color: {
              mode: 'thresholds',
            },
          },
          overrides: [],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          sortBy: [
            {
              displayName: 'Severity',
              desc: false,
            },
          ],
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
        },
      },
    ],
  }
