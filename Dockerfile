# The upgrade-bot image: one static binary on a distroless base, running as
# the non-root user 65532 the Helm chart expects (read-only root filesystem;
# the chart mounts the work directory and /tmp).
#   make image IMAGE=ghcr.io/upgrade-bot/upgrade-bot:0.1.0
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# timetzdata: policies name IANA zones, and the base has no zoneinfo.
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/upgrade-bot ./cmd/upgrade-bot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/upgrade-bot /usr/local/bin/upgrade-bot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/upgrade-bot"]
CMD ["serve"]
