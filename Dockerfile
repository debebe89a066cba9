# vidd: build with the Swift toolchain, run on slim Debian with only the shared libraries it links.
#
#   docker build -t vidd .
#   docker compose up -d        (api + worker with Redis, PostgreSQL and MinIO)

# The toolchain the project is developed with (Swift 6.3); override with --build-arg SWIFT_IMAGE=…
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifest first: the dependency-free package resolves instantly, but keeping the layer order
# means source edits do not invalidate the apt layer above.
COPY Package.swift ./
COPY Sources ./Sources
# The build-tool plugin that embeds the web app (Sources/VideoAPI/WebApp/static) into the binary.
COPY Plugins ./Plugins
COPY Tests ./Tests
RUN swift build -c release --product vidd \
 && install -D "$(swift build -c release --show-bin-path)/vidd" /out/vidd

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
      libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/vidd --shell /usr/sbin/nologin vidd \
 && install -d -o vidd -g vidd -m 0750 /var/lib/vidd /var/lib/vidd/storage
# The Swift runtime libraries the binary needs (not statically linked by default on Linux).
COPY --from=build /usr/lib/swift/linux/*.so /usr/lib/swift/linux/
COPY --from=build /out/vidd /usr/local/bin/vidd
ENV LD_LIBRARY_PATH=/usr/lib/swift/linux \
    VIDD_LISTEN=0.0.0.0:8080 \
    VIDD_STORAGE=file:///var/lib/vidd/storage
USER vidd
WORKDIR /var/lib/vidd
EXPOSE 8080
VOLUME ["/var/lib/vidd"]
ENTRYPOINT ["/usr/local/bin/vidd"]
CMD ["all"]
