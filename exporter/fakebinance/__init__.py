"""The fake Binance: Binance's endpoints served on loopback with its shapes, quirks and error
codes, for the demo, the tests and the benchmarks."""
