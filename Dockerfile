# agent-sidecar: one small process beside each agent. Build: docker build -t agent-sidecar .
# The image binds 0.0.0.0 (a container's loopback is useless to the agent), so it refuses to
# start without SIDECAR_API_TOKEN: pass one (docker-compose.yml reads it from the environment).
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sidecar ./sidecar
COPY runtime ./runtime
RUN pip install --no-cache-dir --prefix=/install '.[postgres]'

FROM python:3.11.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/agent-sidecar sidecar \
    && mkdir -p /var/lib/agent-sidecar/data /var/lib/agent-sidecar/archive \
    && chown -R 10001 /var/lib/agent-sidecar
COPY --from=build /install /usr/local
USER 10001
WORKDIR /var/lib/agent-sidecar
ENV PYTHONUNBUFFERED=1 \
    SIDECAR_HOST=0.0.0.0 \
    SIDECAR_PORT=8787 \
    SIDECAR_DB_URL=sqlite+aiosqlite:////var/lib/agent-sidecar/data/sidecar.db
EXPOSE 8787
VOLUME ["/var/lib/agent-sidecar/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/ready', timeout=2)"]
ENTRYPOINT ["agent-sidecar"]
CMD ["serve"]
