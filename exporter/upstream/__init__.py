"""Talking to Binance and reading its answers; imports nothing else of the exporter."""
