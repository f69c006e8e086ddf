# syntax=docker/dockerfile:1
# Keyward sidecar image: multi-stage (compile, then production dependencies only), runs as a non-root
# user, writes nothing at run time (works with readOnlyRootFilesystem), entrypoint `bin/keyward serve`.
#   docker build -t keyward:0.1.0 .
#   docker run --rm -p 3500:3500 -v "$PWD/components:/components:ro" keyward:0.1.0 \
#     --app-id myapp --resources-path /components --dapr-listen-addresses 0.0.0.0
# Node 24 LTS.
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Compile TypeScript with the locked dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json --outDir dist --tsBuildInfoFile /tmp/tsbuildinfo

# 2. Production dependencies only (vendor SDKs are loaded lazily, per store type, at run time; the Dapr
#    protos are vendored in proto/, so no Dapr SDK is installed).
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
COPY --from=build /src/dist/src ./dist/src
# 1000 is the image's `node` user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 3500 50001 9090
ENTRYPOINT ["node", "/app/bin/keyward", "serve"]
