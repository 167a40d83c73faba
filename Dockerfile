# The hedgebot image: the bot (`hedgebot run`) and the devnet parts (`hedgebot devnet up|exchange`, anvil).
# Not built in hedgebot's own CI (no Docker engine, no registry but PyPI, npm and Debian's); tests/test_compose.py
# checks its wiring and runs the real `docker compose config` over docker-compose.yml.
#
# Both base images are pinned by exact tag and digest: a rebuild gets the same bytes. Node 20 comes from the
# official Node image (Debian bookworm's nodejs is 18; anvil's npm package wants >= 20): only its `node` and
# `npm` are copied in.
FROM node:20.19.5-bookworm-slim@sha256:9e70124bd00f47dd023e349cd587132ae61892acc0e47ed641416c3e18f401c3 AS node

FROM python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Node's runtime libraries (the official binary links libstdc++), then node and npm themselves.
# Node runs `npm ci`, anvil's launcher and the compile of Aave v3.6 (solc-js): the devnet's pinned anvil
# binary, Aave v3.0's artifacts and v3.6's sources come from npm (package-lock.json), the same parts
# `make install` gives a developer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libstdc++6 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version

# The devnet's pinned anvil binary and the real Aave V3 artifacts come from npm (package-lock.json), the
# same parts `make install` gives a developer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY strategies ./strategies
RUN npm run --silent compile-aave
# Editable, so bot/devnet finds /app/node_modules beside the package as it does in a checkout.
RUN pip install -e .

RUN useradd --create-home --uid 10001 hedgebot \
    && mkdir /data /plugins \
    && chown hedgebot /data
USER hedgebot
# The journal (db_path), its kill file and the devnet's files live in the data volume; your own strategies
# in /plugins (mounted read-only: HEDGEBOT_STRATEGY__NAME=/plugins/my_strategy.py).
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8780

ENTRYPOINT ["hedgebot"]
CMD ["run", "--hold"]
