# Polyeval production image: Node 24 LTS, production dependencies only, non-root, node as PID 1's
# entry (signals reach it: SIGTERM drains in-flight calls). Built in two stages so that TypeScript
# and dev tools never reach the runtime image.
# Note: Docker is not available on the development machines, so this file is reviewed, not built, in CI.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY interpreters ./interpreters
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=6927
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/interpreters ./interpreters
USER node
EXPOSE 6927
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 6927) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
