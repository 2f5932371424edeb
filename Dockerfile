# binance-pm-exporter container image.
#
#   docker build -t binance-pm-exporter .
#   docker run --rm -p 127.0.0.1:10471:10471 binance-pm-exporter --demo
#
# The API key is never part of the image: mount it as a secret file and point
# BINANCE_API_KEY_FILE (and BINANCE_API_SECRET_FILE) at it. Every package comes from a
# hash-locked file that docker/lock.sh generates from pyproject.toml, as a wheel (nothing is
# compiled from source with tools the locks do not name).

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY docker/build-requirements.lock docker/requirements.lock ./
# /opt/build holds the build tools; /opt/exporter, the only thing shipped, gets no pip or
# setuptools: the build venv's pip installs into it.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary :all: \
       -r build-requirements.lock \
    && python -m venv --without-pip /opt/exporter \
    && /opt/build/bin/pip --python /opt/exporter/bin/python install --no-cache-dir \
       --require-hashes --only-binary :all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/build/bin/pip --python /opt/exporter/bin/python install --no-cache-dir --no-deps \
       --no-index /wheels/*.whl \
    && /opt/build/bin/pip --python /opt/exporter/bin/python check \
    && /opt/exporter/bin/python -m compileall -q /opt/exporter

FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.title="binance-pm-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Binance Portfolio Margin collateral rates" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A regular (not --system) account: its fixed uid lies above the system range.
RUN groupadd --gid 10001 exporter \
    && useradd --uid 10001 --gid exporter --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin exporter
COPY --from=build /opt/exporter /opt/exporter
USER 10001:10001
EXPOSE 10471
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "exporter.web.healthcheck"]
ENTRYPOINT ["binance-pm-exporter"]
