# syntax=docker/dockerfile:1
# Build stage: wheels for blightmap and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY geo ./geo
COPY service ./service
COPY ar_assets ./ar_assets
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# three.js (the AR preview page) and MapLibre GL JS (the live map): runtime npm dependencies.
FROM node:20-slim AS npm
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: slim, non-root, data on a volume.
FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 blightmap \
    && mkdir /data && chown blightmap:blightmap /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --from=npm /src/node_modules/three /opt/blightmap/node_modules/three
COPY --from=npm /src/node_modules/maplibre-gl /opt/blightmap/node_modules/maplibre-gl
USER blightmap
ENV BLIGHTMAP_DATA_DIR=/data \
    BLIGHTMAP_VENDOR_DIR=/opt/blightmap/node_modules \
    BLIGHTMAP_HOST=0.0.0.0 \
    BLIGHTMAP_PORT=8000
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["blightmap", "serve"]
