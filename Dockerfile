# The api, scheduler and worker (and the kat CLI) in one image; the command picks the app:
#   node dist/apps/api/main.js | dist/apps/scheduler/main.js | dist/apps/worker/main.js | dist/apps/cli/main.js <command>

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
# The image's own unprivileged user (uid 1000); the worker joins the engine socket's group instead of running as root.
USER node
EXPOSE 3000
CMD ["node", "dist/apps/api/main.js"]
