# syntax=docker/dockerfile:1
# Baton's image: one binary that runs every role (worker, coordinator, api, migrate, apply, ...).
#   docker build -t baton .
#   docker run --rm -e DATABASE_URL=postgres://... baton migrate
# deploy/README.md has compose and Kubernetes usage. No Docker engine runs where this project is
# built and tested, so CI lints this file (hadolint, deploy/validate) but never builds it.

# ---- build -------------------------------------------------------------------------------------
FROM swift:6.3-bookworm AS build
WORKDIR /build

# Dependencies first, so a change under Sources/ does not fetch them again. Package.resolved is
# left out (.dockerignore): Package.swift pins every dependency with exact:, and a checkout's
# Package.resolved may name commits of a local package mirror.
COPY Package.swift ./
RUN swift package resolve

COPY Sources ./Sources
# The Swift runtime and Foundation are linked statically, so the runtime stage needs no Swift
# toolchain; FoundationNetworking (the http executor) still loads the system's libcurl.
# baton-shim, the supervisor of each process job, is found beside baton.
RUN swift build -c release --product baton --static-swift-stdlib \
    && swift build -c release --product baton-shim --static-swift-stdlib \
    && mkdir -p /staging/bin \
    && cp "$(swift build -c release --show-bin-path)/baton" "$(swift build -c release --show-bin-path)/baton-shim" /staging/bin/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/bin/

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: TLS to PostgreSQL and to http executor targets; tzdata: time zones for
# `schedules list --local`; libcurl4: FoundationNetworking; curl: container health checks.
# The example components need only sh (examples/extract.sh); add python3 and the like in an
# image built FROM this one when your process components need them. Versions are not pinned
# (DL3008): the base image's Debian release fixes them, and pins would break on every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata libcurl4 curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 baton \
    && useradd --system --no-log-init --uid 10001 --gid baton --home-dir /opt/baton --shell /usr/sbin/nologin baton

COPY --from=build /staging/bin/baton /staging/bin/baton-shim /usr/local/bin/
COPY --from=build /staging/bin/swift-backtrace-static /usr/local/libexec/swift-backtrace-static
COPY sql /opt/baton/sql
COPY openapi.yaml /opt/baton/openapi.yaml
COPY examples /opt/baton/examples

# The working directory holds openapi.yaml and examples/ (the example components run
# `sh examples/extract.sh` relative to it); migrations are found through BATON_SQL_DIR.
WORKDIR /opt/baton
ENV BATON_SQL_DIR=/opt/baton/sql \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/swift-backtrace-static

USER 10001:10001
# 8420: baton api; 9464: --metrics-port of worker and coordinator (/metrics, /healthz, /readyz).
EXPOSE 8420 9464
ENTRYPOINT ["baton"]
CMD ["--help"]
