// Query and panel helpers for the dashboards. Every panel and query reads the datasource
// variable; every series the job and instance variables. A panel is built by its kind
// (stat, table, timeseries) and refined with `+`, e.g.
//
//   p.stat('Accounts up', 'Accounts whose last requests succeeded.',
//          p.instant(p.sum('binance_pm_account_up')), width=6)
//   + p.defaults({ decimals: 0 })
//
// and placed with p.row(title, id, panels): rows stack top to bottom, and a row's panels fill
// lines 24 units wide from the left, taking the ids after the row's.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // --- Queries ---------------------------------------------------------------------------------

  // A metric of the chosen jobs and instances, with extra matchers after them:
  // series('binance_pm_up') -> 'binance_pm_up{job=~"$job", instance=~"$instance"}'.
  series(metric, extra=[])::
    '%s{%s}' % [metric, std.join(', ', ['job=~"$job"', 'instance=~"$instance"'] + extra)],
  max(metric):: 'max(%s)' % $.series(metric),
  min(metric):: 'min(%s)' % $.series(metric),
  // Seconds since a timestamp metric, once it was set (it is 0 before the first success).
  age(metric):: 'time() - %s and %s > 0' % [$.series(metric), $.series(metric)],
  // Per-second rate of a counter over Grafana's rate interval, summed by `by`.
  rate(metric, by):: 'sum by (%s) (rate(%s[$__rate_interval]))' % [by, $.series(metric)],
  increase(metric, by):: 'sum by (%s) (increase(%s[$__rate_interval]))' % [by, $.series(metric)],

  // One query of a panel; the panel names them A, B, ... in order.
  range(expr, legend='__auto'):: {
    expr: expr,
    format: 'time_series',
    instant: false,
    range: true,
    legendFormat: legend,
  },
  instant(expr, legend='__auto', format='time_series'):: self.range(expr, legend) + {
    format: format,
    instant: true,
    range: false,
  },
  // An instant query whose series become table rows (merged by their labels).
  tableQuery(expr):: self.instant(expr, format='table'),

  // --- Field settings --------------------------------------------------------------------------

  // Colour steps: `base` from the lowest value up, then [value, colour] pairs.
  steps(base, above=[]):: {
    mode: 'absolute',
    steps: [{ color: base, value: null }] + [{ color: step[1], value: step[0] } for step in above],
  },
  // 0 and 1 shown as DOWN and UP.
  upDown:: [{
    type: 'value',
    options: {
      '0': { text: 'DOWN', color: 'red', index: 0 },
      '1': { text: 'UP', color: 'green', index: 1 },
    },
  }],
  // Refinements of a panel: its field defaults, and for graphs their custom style.
  defaults(fields):: { fieldConfig+: { defaults+: fields } },
  custom(style):: self.defaults({ custom+: style }),

  // Table columns: an override of the column `name`, made of properties.
  column(name, properties):: { matcher: { id: 'byName', options: name }, properties: properties },
  property(id, value):: { id: id, value: value },
  colorText:: self.property('custom.cellOptions', { type: 'color-text' }),
  fixedColor(color):: self.property('color', { mode: 'fixed', fixedColor: color }),
  width(units):: self.property('custom.width', units),

  // Table transformations. organize hides the `hidden` fields and shows `columns`, a list of
  // [field, header], in that order.
  organize(hidden, columns):: {
    id: 'organize',
    options: {
      excludeByName: { [field]: true for field in hidden },
      indexByName: { [columns[i][0]]: i for i in std.range(0, std.length(columns) - 1) },
      renameByName: { [column[0]]: column[1] for column in columns },
    },
  },
  merge:: { id: 'merge', options: {} },

  // --- Panels ----------------------------------------------------------------------------------

  // What every panel has. width and height are grid units (the dashboard is 24 wide); row()
  // turns them into the panel's position.
  panel(type, title, description, targets, width, height):: {
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    targets: [
      targets[i] { datasource: $.datasource, editorMode: 'code', refId: std.char(65 + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
    fieldConfig: { defaults: {}, overrides: [] },
    size:: { w: width, h: height },
  },

  // One number (or a name per series, textMode 'value_and_name') from an instant query.
  stat(title,
       description,
       target,
       width,
       height=4,
       unit='short',
       steps=$.steps('green'),
       colorMode='value',
       textMode='value',
       mappings=[])::
    $.panel('stat', title, description, [target], width, height)
    + $.defaults({
      unit: unit,
      color: { mode: 'thresholds' },
      thresholds: steps,
      mappings: mappings,
    })
    + {
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: colorMode,
        graphMode: 'none',
        textMode: textMode,
        justifyMode: 'auto',
        orientation: 'auto',
      },
    },

  // Rows of values, sortable and filterable, sorted by the column `sortBy` to begin with.
  table(title,
        description,
        targets,
        width,
        height,
        transformations,
        sortBy,
        columns=[],
        decimals=4)::
    $.panel('table', title, description, targets, width, height)
    + $.defaults({
      unit: 'none',
      decimals: decimals,
      custom: { align: 'auto', filterable: true, cellOptions: { type: 'auto' } },
      thresholds: $.steps('text'),
      color: { mode: 'thresholds' },
    })
    + {
      transformations: transformations,
      fieldConfig+: { overrides: columns },
      options: {
        showHeader: true,
        cellHeight: 'sm',
        sortBy: [{ displayName: sortBy, desc: false }],
        footer: { show: false, reducer: ['sum'], fields: '' },
      },
    },

  // Graph styles: lines between samples, steps (rates change by announcement), bars (counts
  // per interval).
  lines:: { drawStyle: 'line', lineInterpolation: 'linear', lineWidth: 1, fillOpacity: 0 },
  stepped:: { drawStyle: 'line', lineInterpolation: 'stepAfter', lineWidth: 2, fillOpacity: 0 },
  bars:: { drawStyle: 'bars', lineInterpolation: 'linear', lineWidth: 1, fillOpacity: 60 },

  // Series over time, with a legend table of their last values.
  timeseries(title,
             description,
             targets,
             width,
             height,
             unit='short',
             style=$.lines,
             legend='right')::
    $.panel('timeseries', title, description, targets, width, height)
    + $.defaults({
      unit: unit,
      custom: style {
        showPoints: 'never',
        spanNulls: false,
        axisPlacement: 'auto',
        thresholdsStyle: { mode: 'off' },
      },
      color: { mode: 'palette-classic' },
      thresholds: $.steps('green'),
    })
    + {
      options: {
        legend: {
          displayMode: 'table',
          placement: legend,
          showLegend: true,
          calcs: ['lastNotNull'],
        },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  // --- Variables and annotations ---------------------------------------------------------------

  // A variable of label values from a query, several values or all at once.
  variable(name, label, query):: {
    type: 'query',
    name: name,
    label: label,
    datasource: $.datasource,
    definition: query,
    query: { query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex: '',
    sort: 1,
    multi: true,
    includeAll: true,
    allValue: '.+',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    hide: 0,
    skipUrlSync: false,
  },

  // Marks on the graphs where the alert `alertname` fired; title and text are legend formats.
  alertAnnotation(name, color, alertname, title, text, tagKeys):: {
    datasource: $.datasource,
    enable: true,
    hide: false,
    iconColor: color,
    name: name,
    expr: 'ALERTS{alertname="%s", alertstate="firing", job=~"$job", asset=~"$asset"}' % alertname,
    step: '1m',
    titleFormat: title,
    textFormat: text,
    tagKeys: tagKeys,
    useValueForTime: false,
  },

  // --- Layout ----------------------------------------------------------------------------------

  // A row titled `title` with the panel id `id`; its panels take the ids id+1, id+2, ... and fill
  // lines 24 wide from the left (a panel that does not fit starts the next line).
  row(title, id, panels):: { title: title, id: id, panels: panels },

  // The dashboard's panels list from rows, top to bottom.
  layout(rows)::
    local placeRow(state, row) =
      local top = state.y + 1;
      local placed = std.foldl(
        function(line, i)
          local size = row.panels[i].size;
          local wraps = line.x + size.w > 24;
          local x = if wraps then 0 else line.x;
          local y = if wraps then line.y + line.h else line.y;
          local h = if wraps then size.h else std.max(line.h, size.h);
          line {
            x: x + size.w,
            y: y,
            h: h,
            panels+: [row.panels[i] { id: row.id + 1 + i, gridPos: { x: x, y: y, w: size.w, h: size.h } }],
          },
        std.range(0, std.length(row.panels) - 1),
        { x: 0, y: top, h: 0, panels: [] }
      );
      {
        y: placed.y + placed.h,
        panels: state.panels + [{
          type: 'row',
          id: row.id,
          title: row.title,
          collapsed: false,
          gridPos: { x: 0, y: state.y, w: 24, h: 1 },
          panels: [],
        }] + placed.panels,
      };
    local panels = std.foldl(placeRow, rows, { y: 0, panels: [] }).panels;
    local ids = [panel.id for panel in panels];
    assert std.length(std.set(ids)) == std.length(ids) :
           'panel ids collide: give each row an id past the last panel id of the row before';
    panels,
}
