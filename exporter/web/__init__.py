"""The HTTP side: the aiohttp app and its handlers, the listener, the landing page, the web
config file with its guard and basic auth, and the container healthcheck."""
