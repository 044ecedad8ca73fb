# dnsward: DNS filtering resolver and blocklist service. docs/OPERATIONS.md, "Docker".
#   docker build -t dnsward .
#   docker run -d --name dnsward -p 53:53/udp -p 53:53/tcp -p 8053:8053 \
#     -v ./my.yaml:/etc/dnsward/dnsward.yaml:ro \
#     -v dnsward-keys:/var/lib/dnsward/keys -v dnsward-audit:/var/lib/dnsward/audit dnsward
# test/integration/deploy-image.test.ts runs this file's RUN, USER, ENTRYPOINT, CMD and
# HEALTHCHECK lines as written, in a model of the image (Docker does not run where we test).

# Build: `npm ci` builds the batched-datagram addon (the `install` script: node-gyp needs g++,
# make and python3) and compiles src/ into dist/ (the `prepare` script); then the dev
# dependencies go.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY src ./src
COPY bin ./bin
RUN npm ci && npm run build:addon && npm prune --omit=dev

FROM node:24-bookworm-slim
# Port 53 without root: node gets CAP_NET_BIND_SERVICE as a file capability, the one
# privilege it needs. That works under `--cap-drop ALL --cap-add NET_BIND_SERVICE` and in
# runtimes that, unlike Docker, do not open low ports to every user. (setcap rewrites node in
# this layer, ~120 MB unpacked: the price of not being root. Node still reads NODE_OPTIONS
# when CAP_NET_BIND_SERVICE is its only capability.)
# The user has a fixed numeric id so that Kubernetes' runAsNonRoot can check it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep /usr/local/bin/node \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10053 dnsward \
 && useradd --uid 10053 --gid dnsward --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin dnsward \
 && mkdir -p /var/lib/dnsward/audit /var/lib/dnsward/keys /var/lib/dnsward/lists /var/lib/dnsward/fleet \
 && chown -R dnsward:dnsward /var/lib/dnsward \
 && chmod 0700 /var/lib/dnsward/keys /var/lib/dnsward/fleet
WORKDIR /app
ENV NODE_ENV=production
# The application is root's and read-only to dnsward; it writes only under /var/lib/dnsward.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# UDP through recvmmsg/sendmmsg batches (src/server/datagram-addon.ts; node:dgram without it).
COPY --from=build /app/native/build/Release/dnsward_datagram.node ./native/build/Release/dnsward_datagram.node
# The block log's in-place SHA-256 (src/audit/sha256-into.ts; node:crypto without it).
COPY --from=build /app/native/build/Release/dnsward_hash.node ./native/build/Release/dnsward_hash.node
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY lists ./lists
COPY deploy/docker.yaml /etc/dnsward/dnsward.yaml
# bin/dnsward runs dist/ when its build stamp is newer than every file in src/.
RUN touch dist/.build-stamp
USER 10053:10053
# The config, the keys and the block log are volumes (so is the cache of subscribed lists);
# the rest of the file system can be read-only (`docker run --read-only`).
VOLUME ["/etc/dnsward", "/var/lib/dnsward/keys", "/var/lib/dnsward/audit", "/var/lib/dnsward/lists"]
EXPOSE 53/udp 53/tcp 8053/tcp
# Ready when /readyz on the private listener (api.listen in the config) answers 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["/app/bin/dnsward-healthcheck", "/etc/dnsward/dnsward.yaml"]
ENTRYPOINT ["/app/bin/dnsward"]
CMD ["serve", "--config", "/etc/dnsward/dnsward.yaml"]
