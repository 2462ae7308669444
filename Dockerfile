# One image for every Tsunagu service; the command chooses the process (see docker-compose.yml).

# linkage's hot pure modules compiled with mypyc (services/linkage/native.py) in a stage of their own: the compiler
# and mypy stay out of the image, which gets var/native/<digest of these very sources>
FROM python:3.11-slim AS native
ENV PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY contracts ./contracts
COPY services ./services
RUN pip install -c constraints.txt . mypy && python -m services.linkage.entrypoints.native_build \
    && test -f var/native/*/complete

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY contracts ./contracts
COPY services ./services
COPY simulator ./simulator
COPY deploy/wait_consumers.py ./deploy/wait_consumers.py
COPY --from=native /app/var/native ./var/native
RUN pip install -c constraints.txt . && useradd --system --uid 10001 tsunagu && mkdir -p /app/var && chown tsunagu /app/var
USER tsunagu
EXPOSE 8000 8001 9101 9102 9103 9104
