"""The fake Binance: Binance's endpoints served on loopback with its shapes, quirks and error
codes, for the demo, the tests, the soak and the benchmarks. The one fake: tests/ and bench/
script it, they do not write another (`tests/test_layout.py` checks).

- `server.FakeBinance`: the state (rates, tiers, the key and secret it accepts, its clock and
  `server_offset_ms`, the used weight, bans) and how every request is answered: security
  checked as Binance does, then `scripts` may answer instead (faults), then the endpoint's
  good answer, with the used-weight header; `Retry-After` it sent is remembered and a request
  inside it counted.
- `endpoints`: the endpoint table (path, security, weight and its header, body). Adding an
  endpoint answered from the shared state is one `Endpoint` row, given to
  `FakeBinance(endpoints=...)` or `fake.add_endpoints(...)`.
- `replies`: `Reply`, one answer good or faulty (status, body, headers, delay, a dropped
  connection, an oversized stream, the used weight), and Binance's bodies.
- `accounts`: the Portfolio Margin account endpoints. A part with handlers of its own plugs in
  the same way: `fake.mounts.append(part.mount)` before `start()`, its `mount(app)` adding its
  routes; it shares the fake's state through callables (`fake.float_rates`, the fake's
  `clock`), so a rate cut shows in its next answer.
- `demo`, `scenarios`, `demo_accounts`: the fake as `--demo` serves it, and what it does over
  time (`--demo-scenario`).

The tests' scripting (answers queued per path, every request recorded) is
`tests/support/fake_binance.py`, outside the installed package."""
