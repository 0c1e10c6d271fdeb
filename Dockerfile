# The three apps and the mcp-pytest CLI share one image; docker-compose.yml picks the entry point of each.
FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 builds from source where no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY bench bench
COPY test/harness test/harness
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production NO_COLOR=1
COPY package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist/apps dist/apps
COPY --from=build /app/dist/libs dist/libs
COPY bin bin
# The dashboard's files, served by the query app from the sources' folder.
COPY apps/query/web apps/query/web
# The SQLite read models (READ_MODEL_URL's default, ./.data): a volume the projector writes and the query app reads,
# writable whichever user compose runs the apps as (the host user who owns config/).
RUN mkdir -p .data && chmod 1777 .data
USER node
CMD ["node", "dist/apps/gateway/src/main.js"]
