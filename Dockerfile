# One image for every Tsunagu service; the command chooses the process (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY contracts ./contracts
COPY services ./services
COPY simulator ./simulator
COPY deploy/wait_consumers.py ./deploy/wait_consumers.py
RUN pip install -c constraints.txt . && useradd --system --uid 10001 tsunagu && mkdir -p /app/var && chown tsunagu /app/var
USER tsunagu
EXPOSE 8000 8001 9101 9102 9103 9104
