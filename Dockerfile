# The hedgebot image: the bot (`hedgebot run`) and the devnet parts (`hedgebot devnet up|exchange`, anvil).
# Not built in hedgebot's own CI, which has no Docker engine; tests/test_compose.py checks its wiring.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Node runs `npm ci`, anvil's launcher and the compile of Aave v3.6 (solc-js): the devnet's pinned anvil
# binary, Aave v3.0's artifacts and v3.6's sources come from npm (package-lock.json), the same parts
# `make install` gives a developer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY strategies ./strategies
RUN npm run --silent compile-aave
# Editable, so bot/devnet finds /app/node_modules beside the package as it does in a checkout.
RUN pip install -e .

RUN useradd --create-home --uid 10001 hedgebot && mkdir /data && chown hedgebot /data
USER hedgebot
# The journal (db_path, relative by default), its kill file and the devnet's files live in the volume.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8780

ENTRYPOINT ["hedgebot"]
CMD ["run"]
