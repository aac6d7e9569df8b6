# Polyeval production image: Node 24 LTS (slim), production dependencies only, non-root, `node` as
# the entry process (exec form: SIGTERM reaches it and drains in-flight calls; see README
# "Running in a container" for --init and for what the OS-isolation layer needs from the runtime).
# Two stages, so that TypeScript and the dev tools never reach the runtime image; the engines are
# warmed at build (`polyeval warm`), so that caches they would otherwise build at every start (the
# Python memory snapshot) are in the image.
# Docker is not available on the development machines: this file is reviewed, not built, in CI.

FROM node:24-bookworm-slim AS build
# swagger-ui-dist depends on @scarf/scarf, whose install script reports installs: no.
ENV SCARF_ANALYTICS=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY interpreters ./interpreters
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
RUN node dist/src/cli/polyeval.js warm

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=6927
WORKDIR /app
# Everything stays owned by root and read-only to the service's user.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/interpreters ./interpreters
COPY --from=build /app/src/http/playground ./src/http/playground
COPY --from=build /app/.cache ./.cache
RUN ln -s /app/dist/src/cli/polyeval.js /usr/local/bin/polyeval && chmod 0755 /app/dist/src/cli/polyeval.js
USER node
EXPOSE 6927
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 6927) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
