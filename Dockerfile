# The one Poiesis image. Every component runs from it with a different
# command: `poiesis api`, `torc`, `tif`, `texam` or `tof` (see knative/).
# Build it from the repository root:
#
#   docker build -t poiesis:0.1.0 .
#
# The build stage compiles the TypeScript and better-sqlite3's native addon.
# The runtime stage has only production packages, the compiled code and
# Debian's static busybox, the helper that executor containers run.
#
# NOTE: no test or CI run builds this image. test/knative/dockerfile.test.ts
# checks its stages and that every path it copies from the repository exists.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-gyp needs python3, make and g++ to compile better-sqlite3.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Compile better-sqlite3 from source instead of downloading a prebuilt
# binary, against the Node headers that the image ships under /usr/local.
ENV npm_config_build_from_source=better-sqlite3 \
    npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY functions ./functions
COPY cli ./cli
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# busybox-static installs /bin/busybox, the default POIESIS_HELPER_BINARY.
RUN apt-get update \
    && apt-get install -y --no-install-recommends busybox-static \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 poiesis \
    && useradd --uid 10001 --gid poiesis --create-home --shell /usr/sbin/nologin poiesis \
    && mkdir -p /var/lib/poiesis \
    && chown poiesis:poiesis /var/lib/poiesis
WORKDIR /app
# A container is reached from outside, so listen on every interface. Mount a
# volume at /var/lib/poiesis to keep the task database across restarts.
ENV NODE_ENV=production \
    POIESIS_HOST=0.0.0.0 \
    POIESIS_DATA_DIR=/var/lib/poiesis
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Numeric, so that Kubernetes can check runAsNonRoot against it.
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["--help"]
