# dnsward: DNS filtering resolver and blocklist service.
#   docker build -t dnsward .
#   docker run -p 53:1053/udp -p 53:1053/tcp -p 8053:8053 -v ./my.yaml:/etc/dnsward/dnsward.yaml:ro -v dnsward-state:/var/lib/dnsward dnsward
# State (block log, its keys, cached list sources) lives under /var/lib/dnsward; paths in a
# config resolve against the config file's directory, so keep them absolute in the image.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
# npm ci runs `prepare`, which compiles src/ into dist/.
RUN npm ci && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY lists ./lists
COPY deploy/docker.yaml /etc/dnsward/dnsward.yaml
# The build stamp must be newer than src/ so bin/dnsward runs the compiled JavaScript.
RUN touch dist/.build-stamp && mkdir -p /var/lib/dnsward/audit /var/lib/dnsward/audit-keys /var/lib/dnsward/lists /var/lib/dnsward/list-keys && chown -R node:node /var/lib/dnsward
USER node
# Unprivileged port inside the container; map it to 53 on the host.
EXPOSE 1053/udp 1053/tcp 8053/tcp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8054/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/app/bin/dnsward"]
CMD ["serve", "--config", "/etc/dnsward/dnsward.yaml"]
