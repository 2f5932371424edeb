"""Everything the tests share: the fake Binance, the exporter in-process and as a process,
parsing of expositions, the monitoring stack, containers, tools. Test modules import from here
(`from tests.support.exporter import StartExporter`), never from one another or from conftest;
`tests/test_layout.py` holds them to it."""
