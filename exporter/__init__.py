"""Prometheus exporter for Binance Portfolio Margin collateral rates."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("binance-pm-exporter")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
