// Small helpers shared by the rules and the dashboard.
{
  // Collapses a text block (|||) into one line: annotations read as one paragraph.
  oneLine(text)::
    std.join(' ', std.filter(function(word) word != '', std.split(std.strReplace(text, '\n', ' '), ' '))),

  // A series selector from the configured matchers and extra ones, e.g.
  // selector('job="binance-pm"', ['reason="ip_banned"']) -> '{job="binance-pm",reason="ip_banned"}'.
  selector(base, extra=[])::
    '{' + std.join(',', std.filter(function(m) m != '', [base] + extra)) + '}',

  // A number as PromQL and prose read it: no float noise, no trailing zeros (0.2, 0.19995).
  number(value)::
    local text = std.format('%.6f', value);
    local trimmed = std.rstripChars(text, '0');
    std.rstripChars(trimmed, '.'),

  // An integer with thousands separators, as the prose prints it: 12000 -> '12,000'.
  thousands(n)::
    local digits = std.toString(std.floor(n));
    local head = std.length(digits) % 3;
    std.join(',', std.filter(function(part) part != '', [std.substr(digits, 0, head)] + [
      std.substr(digits, i, 3)
      for i in std.range(head, std.length(digits) - 1)
      if (i - head) % 3 == 0
    ])),

  // A rate as the annotations print it: 4 decimals, like Binance's strings.
  rate(value):: std.format('%.4f', value),
}
