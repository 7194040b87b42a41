# Seshat in a container. The base image is built locally from Debian packages by
# scripts/build-base-image (no image registry is needed); any image with Python >= 3.11 and
# python3-venv works too: docker build --build-arg BASE_IMAGE=... .
#
#   scripts/build-base-image && docker build -t seshat .
#   docker run --rm -p 127.0.0.1:6379:6379 -v seshat-data:/data seshat
#
# Settings are the usual flags or SESHAT_* variables (see `seshat --help`); the image sets
# SESHAT_BIND=0.0.0.0 and SESHAT_DATA_DIR=/data. Ports: 6379 (RESP clients), 7379 (Raft, gRPC).
#
# One stage, slowest-changing layers first: a change to seshat/ rebuilds only the last install
# (seconds), not the dependencies (grpcio, rocksdict, ...: a minute from PyPI).
ARG BASE_IMAGE=seshat-base:bookworm
FROM ${BASE_IMAGE}
# Marks Seshat's images, so that old untagged builds can be pruned alone:
#   docker image prune -f --filter label=org.seshat.image
LABEL org.seshat.image=server

RUN groupadd --system --gid 10001 seshat \
 && useradd --system --uid 10001 --gid seshat --home-dir /data --no-create-home seshat \
 && mkdir -p /data && chown seshat:seshat /data \
 && python3 -m venv /opt/seshat \
 && /opt/seshat/bin/python -m pip install --no-cache-dir --disable-pip-version-check -q --upgrade pip

# Metadata early: on this engine's legacy builder every instruction costs a container commit
# (seconds each on fuse-overlayfs), so only COPY/RUN of the code and USER follow it.
ENV PATH=/opt/seshat/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SESHAT_BIND=0.0.0.0 \
    SESHAT_PORT=6379 \
    SESHAT_RAFT_PORT=7379 \
    SESHAT_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379 7379
# Ready when the node answers PING on its client port (any RESP reply, even -NOAUTH).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, socket; s = socket.create_connection(('127.0.0.1', int(os.environ.get('SESHAT_PORT', '6379'))), 2); s.sendall(b'PING\\r\\n'); assert s.recv(64)[:1] in (b'+', b'-')"]
# seshat handles SIGTERM itself (graceful stop), so it can be PID 1.
ENTRYPOINT ["seshat"]

# The dependencies, from pyproject.toml alone (an empty package stands in for seshat/, an
# empty README for the real one: editing either does not reinstall them).
COPY pyproject.toml /deps/
RUN mkdir -p /deps/seshat && touch /deps/seshat/__init__.py /deps/README.md \
 && /opt/seshat/bin/pip install --no-cache-dir --disable-pip-version-check -q /deps \
 && /opt/seshat/bin/pip uninstall -y -q seshat && rm -rf /deps

COPY pyproject.toml /src/
COPY seshat /src/seshat
RUN touch /src/README.md && /opt/seshat/bin/pip install --no-cache-dir --disable-pip-version-check -q --no-deps /src \
 # The wheel carries no raft.proto (pyproject's package-data lists py.typed only): put it
 # beside the installed package and generate the gRPC modules there, as root, once.
 && pkg="$(/opt/seshat/bin/python -c 'import os, seshat; print(os.path.dirname(seshat.__file__))')" \
 && cp /src/seshat/proto/raft.proto "$pkg/proto/raft.proto" \
 && /opt/seshat/bin/python -m seshat.proto.build \
 && /opt/seshat/bin/python -c 'from seshat.proto import raft_pb2_grpc; import seshat.server' \
 && /opt/seshat/bin/python -m compileall -q "$pkg" >/dev/null \
 && rm -rf /src

USER seshat
