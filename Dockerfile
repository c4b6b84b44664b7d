FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY rems rems
COPY workflows workflows
COPY workers workers
RUN pip install --no-cache-dir . && useradd --system rems
USER rems
ENV REMS_ENV=production
ENTRYPOINT ["rems"]
