# syntax=docker/dockerfile:1
# housectl: build with cgo (mattn/go-sqlite3), run as a non-root user in a
# small Debian image. Build args VERSION and COMMIT label the image.
#
#   docker build --build-arg VERSION=$(git describe --always) --build-arg COMMIT=$(git rev-parse HEAD) -t housectl .
#   docker run -p 8080:8080 -v $PWD/experiments:/data/experiments housectl
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath \
      -ldflags "-s -w -X github.com/housectl/housectl/pkg/buildinfo.Version=${VERSION} -X github.com/housectl/housectl/pkg/buildinfo.Commit=${COMMIT}" \
      -o /out/housectl ./cmd/housectl

FROM debian:bookworm-slim
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="housectl" \
      org.opencontainers.image.description="MLOps for tabular models in one binary: train, track, register, serve" \
      org.opencontainers.image.source="https://github.com/housectl/housectl" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home housectl
COPY --from=build /out/housectl /usr/local/bin/housectl
COPY configs/housectl.yaml /etc/housectl/housectl.yaml
USER 10001:10001
WORKDIR /data
ENV HOUSECTL_CONFIG=/etc/housectl/housectl.yaml \
    HOUSECTL_SERVE_ADDR=0.0.0.0:8080 \
    HOUSECTL_EXPERIMENTS_DIR=/data/experiments \
    HOUSECTL_PREDICTIONS_PATH=/data/log/predictions.db
EXPOSE 8080
VOLUME ["/data/experiments", "/data/log"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["housectl", "health", "--url", "http://127.0.0.1:8080/ready", "--timeout", "2s"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["housectl"]
CMD ["serve"]
