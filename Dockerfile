FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/main.lock requirements/main.lock
COPY rems rems
COPY workflows workflows
COPY workers workers
RUN pip install --no-cache-dir --require-hashes -r requirements/main.lock \
    && pip install --no-cache-dir --no-deps . && useradd --system rems
USER rems
ENV REMS_ENV=production
ENTRYPOINT ["rems"]
