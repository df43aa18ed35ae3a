# Production image: gunicorn serving crm.wsgi, static files by WhiteNoise. Used by
# docker-compose.yml for the migrate, web, worker, beat and backup services.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Source without local state (virtualenv, .env, SQLite file, caches), so none of it can reach
# the image even without a .dockerignore.
FROM base AS source
COPY . /src
RUN cd /src && rm -rf .git .venv .env db.sqlite3* staticfiles private_media test-artifacts \
      bench-results .pytest_cache .mypy_cache .ruff_cache tests

FROM base
# pg_dump/pg_restore (15, as the compose file's PostgreSQL) for manage.py backup_create/_restore.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY requirements/base.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
RUN groupadd --system crm && useradd --system --gid crm --home-dir /app --no-create-home crm
COPY --from=source /src /app
# collectstatic needs production settings to load; the key and database here exist only
# during the build (no database is opened).
RUN DJANGO_ENV=production \
    SECRET_KEY=build-time-dummy-key-not-used-at-run-time-0123456789abcdef \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --no-input \
 && mkdir -p /data/private_media /data/backups \
 && chown -R crm:crm /data/private_media /data/backups
ENV PRIVATE_MEDIA_ROOT=/data/private_media \
    BACKUP_DIR=/data/backups
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
