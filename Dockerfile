FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN useradd --create-home panel
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Production storage (hashed, compressed names) at build time; the keys are placeholders, unused here.
RUN DEBUG=0 SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=build-only STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput && chown -R panel /app
USER panel
EXPOSE 8000
CMD ["gunicorn", "panel.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
