# The kfed manager image: a static binary on an empty base, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/manager .

FROM scratch
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
