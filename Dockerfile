# Polyeval production image: Node 24 LTS (slim), production dependencies only, non-root, tini as
# PID 1 (it reaps orphaned processes, as `docker run --init` would, and forwards SIGTERM to node,
# which drains in-flight calls), bubblewrap and python3-seccomp for the Python sandbox's OS layer
# (see README "Running in a container" for what that layer needs from the runtime).
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
# bubblewrap builds the sandbox host's namespaces; python3-seccomp (libseccomp) compiles its seccomp
# filter at start; tini is PID 1.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap python3-seccomp tini \
    && rm -rf /var/lib/apt/lists/*
# glibc's allocator: two arenas, and allocations from 32 KiB up always in their own mapping, given
# back when freed (V8's compilers take their zone memory in 32 KiB segments). Worker threads come
# and go; with the defaults their freed memory stayed in the process (the sandbox hosts get the same from the service: SANDBOX_HOST_ENV in process-host.ts).
# Measured by `npm run bench` (whole-tree idle RSS): see README "Running in a container".
ENV NODE_ENV=production \
    PORT=6927 \
    GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=32768:glibc.malloc.trim_threshold=131072
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
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
