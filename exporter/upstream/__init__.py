"""Talking to Binance and reading its answers: the client, faults, parsers, signing, the server
clock, the endpoints, what a request returns, the shared IP budget, and the demo upstream."""
