# syntax=docker/dockerfile:1
# The same steps as `make wheel` and tests/test_packaging.py: npm ci for the browser
# libraries, a wheel that carries them (setup.py copies them in), installed without
# extras into a clean Python.

# three.js, MapLibre GL JS, Swagger UI and Redoc: npm packages the wheel takes in.
FROM node:20-slim AS npm
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=peer --no-audit --no-fund

# Build stage: wheels for blightmap and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY geo ./geo
COPY service ./service
COPY ar_assets ./ar_assets
COPY --from=npm /src/node_modules ./node_modules
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim, non-root, data on a volume; no node_modules (the wheel has the files).
FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 blightmap \
    && mkdir /data && chown blightmap:blightmap /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels blightmap && rm -rf /wheels
USER blightmap
ENV BLIGHTMAP_DATA_DIR=/data \
    BLIGHTMAP_HOST=0.0.0.0 \
    BLIGHTMAP_PORT=8000
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["blightmap", "serve"]
