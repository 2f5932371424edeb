"""The HTTP side: app and handlers, listener, landing page, web config, auth, healthcheck."""
