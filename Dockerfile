# syntax=docker/dockerfile:1
# Keyward sidecar image: multi-stage (bundle, then production dependencies only), runs as a non-root
# user, writes nothing at run time (works with readOnlyRootFilesystem), entrypoint `bin/keyward serve`.
#   docker build -t keyward:0.1.0 .
#   docker run --rm -p 3500:3500 -v "$PWD/components:/components:ro" keyward:0.1.0 \
#     --app-id myapp --resources-path /components --dapr-listen-addresses 0.0.0.0
# Node 24 LTS.
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Bundle the production artefact (dist/keyward/: main.js and one lazily loaded chunk per store and its
#    vendor SDK) with the locked dev dependencies: the same files `npm pack` ships.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# tsconfig.json: esbuild reads the compiler options that change emitted code from it.
COPY tsconfig.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
RUN node scripts/bundle.mjs

# 2. Production dependencies only: what the bundle leaves external (grpc-js, protobufjs, gRPC reflection
#    and the GCP SDK, which read files of their own at run time); every other SDK is inside the bundle.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: no compiler, no npm cache, no source; owned by root, run by the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/keyward ./dist/keyward
# Node's compile cache for bin/keyward (about 15 ms off every start): filled now as the user the sidecar runs
# as, since Node keeps one cache per uid, then owned by root like the rest of /app, so the running sidecar
# reads it and writes nothing.
RUN mkdir .compile-cache && chown 1000:1000 .compile-cache
USER 1000:1000
RUN --mount=type=bind,source=scripts/warm-compile-cache.mjs,target=/tmp/warm-compile-cache.mjs \
    node /tmp/warm-compile-cache.mjs /app
USER root
RUN chown -R root:root .compile-cache && chmod -R a+rX,go-w .compile-cache
# 1000 is the image's `node` user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 3500 50001 9090
# V8's young generation capped at 2 MB per semi-space: on Node 24 its default grows to tens of MB under load.
# Measured (docs/performance.md, "Against the targets"): RSS after the bench's HTTP + gRPC load 254 -> 164 MB,
# with no more CPU per request or call (less, in 10 alternating rounds).
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/keyward", "serve"]
