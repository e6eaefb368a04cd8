# curator in a container: `curator run` with the database and the published feeds on a volume.
#   docker build -t curator .
#   docker run -d --name curator -v curator-data:/data curator
#   docker exec curator curator candidates
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CURATOR_CONFIG=/data/feeds.yaml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY curator ./curator
RUN pip install --disable-pip-version-check . \
 && useradd --system --create-home --home-dir /data curator
COPY feeds.yaml /app/feeds.yaml
COPY contrib/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

USER curator
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["curator", "--log-format", "json", "run"]
