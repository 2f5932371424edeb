# binance-pm-exporter container image.
#
#   docker build -t binance-pm-exporter .
#   docker run --rm -p 10471:10471 -e BINANCE_PM_DEMO=1 binance-pm-exporter
#
# The API key is never part of the image: mount it as a secret file and point
# BINANCE_API_KEY_FILE (and BINANCE_API_SECRET_FILE) at it.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/exporter
COPY docker/constraints.txt ./
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN /opt/exporter/bin/pip install --no-cache-dir --constraint constraints.txt ".[fast]" \
    && /opt/exporter/bin/python -m compileall -q /opt/exporter

FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.title="binance-pm-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Binance Portfolio Margin collateral rates" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 exporter \
    && useradd --system --uid 10001 --gid exporter --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin exporter
COPY --from=build /opt/exporter /opt/exporter
USER 10001:10001
EXPOSE 10471
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "exporter.web.healthcheck"]
ENTRYPOINT ["binance-pm-exporter"]
