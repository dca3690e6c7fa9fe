# Production image for Plan Tracker: a Node stage compiles the stylesheet, a Python stage runs the app.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY assets ./assets
RUN mkdir -p static/build \
 && npx sass --load-path=node_modules --style=compressed --no-source-map assets/app.scss static/build/app.css

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PLAN_TRACKER_VAR_DIR=/app/var \
    DJANGO_STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN useradd --create-home --uid 10001 plantracker
COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY priorities ./priorities
COPY plan_imports ./plan_imports
COPY messaging ./messaging
COPY indicators ./indicators
COPY overview ./overview
COPY public_pages ./public_pages
COPY api ./api
COPY audit ./audit
COPY privacy ./privacy
RUN pip install --no-cache-dir .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY fixtures ./fixtures
COPY --from=assets /build/static/build ./static/build
COPY --from=assets /build/node_modules/govuk-frontend/dist/govuk ./node_modules/govuk-frontend/dist/govuk
# collectstatic needs settings to load; this throwaway key exists only during the build.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=build-time-collectstatic-only python manage.py collectstatic --noinput \
 && mkdir -p /app/var/metrics && chown -R plantracker /app/var
USER plantracker
EXPOSE 8000
CMD ["gunicorn", "tracker.wsgi:application", "--config", "python:tracker.gunicorn_config", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
