# logagent as a container or a sidecar: reads logs from a shared volume, ships them on.
#   podman build -t logagent .            (BASE: any Debian-based image with python3 >= 3.11)
ARG BASE=python:3.11-slim
FROM ${BASE} AS runtime

# PIP_CERT: a CA bundle for pip when the build runs behind an intercepting proxy (not kept).
ARG PIP_CERT=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOGAGENT_CONFIG=/etc/logagent/logagent.toml

SHELL ["/bin/sh", "-eu", "-c"]

# The base may be a bare Debian: make sure python3 with venv is there.
# hadolint ignore=DL3008
RUN if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
        apt-get update; \
        apt-get install -y --no-install-recommends python3 python3-venv ca-certificates; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --system --gid 10001 logagent; useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/logagent --shell /usr/sbin/nologin logagent; \
    mkdir -p /var/lib/logagent /etc/logagent; \
    chown logagent:logagent /var/lib/logagent

# The dependency list alone, extracted in a side stage: the layer installing it below stays cached
# until the list itself changes (not on every edit of pyproject.toml or the code).
FROM runtime AS requirements
COPY pyproject.toml /src/
RUN python3 -c 'import tomllib; p = tomllib.load(open("/src/pyproject.toml", "rb")); print("\n".join(p["project"]["dependencies"] + p["build-system"]["requires"]))' > /requirements.txt

# The package as a wheel, built where a C compiler is (for the compiled parser module,
# parsers/_speedups.c); the compiler stays out of the final image.
FROM runtime AS wheel
ARG PIP_CERT=""
# $headers is one package name or nothing: unquoted on purpose.
# hadolint ignore=DL3008,SC2086
RUN apt-get update; \
    headers=$(python3 -c 'import os, sysconfig; print("" if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else "python3-dev")'); \
    apt-get install -y --no-install-recommends gcc libc6-dev $headers; \
    rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md /src/
COPY logagent /src/logagent
COPY parsers /src/parsers
# hadolint ignore=DL3013
RUN if [ -n "${PIP_CERT}" ]; then export PIP_CERT; fi; \
    python3 -m venv /opt/build; \
    /opt/build/bin/pip wheel --no-deps -w /wheels /src; \
    python3 -c 'import glob, sys, zipfile; names = zipfile.ZipFile(glob.glob("/wheels/logagent-*.whl")[0]).namelist(); sys.exit(not any(n.startswith("parsers/_speedups.") and n.endswith(".so") for n in names))' \
    || { echo "the compiled parser module was not built" >&2; exit 1; }

FROM runtime
ARG PIP_CERT=""
COPY --from=requirements /requirements.txt /src/requirements.txt
# hadolint ignore=DL3013
RUN python3 -m venv /opt/logagent; \
    if [ -n "${PIP_CERT}" ]; then export PIP_CERT; fi; \
    /opt/logagent/bin/pip install -r /src/requirements.txt
# The package itself: no download (dependencies are in place).
COPY --from=wheel /wheels /src/wheels
RUN /opt/logagent/bin/pip install --no-deps /src/wheels/logagent-*.whl; \
    rm -rf /src; \
    ln -s /opt/logagent/bin/logagent /usr/local/bin/logagent

COPY config/docker/logagent.toml /etc/logagent/logagent.toml

USER 10001:10001
WORKDIR /var/lib/logagent
VOLUME ["/var/lib/logagent"]
EXPOSE 9880
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9880/health', timeout=2)"]
ENTRYPOINT ["logagent"]
CMD ["run"]
