# StudyBot: `studybot run` on a slim Python as uid 10001, the SQLite database on a volume at /data.
#
# Three stages. `deps`: the base with a virtual environment in /opt/studybot holding the dependencies only
# (pyproject.toml's list at the versions of constraints.txt), cached until one of those two files
# changes. `project`: the project's wheel, installed into a root of its own. The image: `deps` with the
# user, the settings and the project's installed files, so that a change to the sources or the README
# rebuilds only the `project` stage and the image's last step. No sources, no setuptools, no build
# directory, no pip cache.

FROM python:3.11-slim AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY pyproject.toml constraints.txt /tmp/studybot/
# The base's pip installs into the environment (which gets no pip but the pinned one that sqlite-utils
# requires). The two files (3 KB) stay in the COPY's layer only: this step removes them.
RUN python -m venv --without-pip /opt/studybot \
    && cd /tmp/studybot \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > deps.txt \
    && pip --python /opt/studybot/bin/python install -c constraints.txt -r deps.txt \
    && cd / && rm -rf /tmp/studybot

FROM deps AS project
COPY constraints.txt /tmp/
RUN /opt/studybot/bin/pip install -c /tmp/constraints.txt setuptools
WORKDIR /src
# The context holds only the project's files (.dockerignore). Installed into /project, not into the
# environment: the image takes just these files. Then the build fails if the bundled speech does not
# build into lessons and questions, checked on those installed files (from /, away from the sources).
COPY . ./
RUN /opt/studybot/bin/pip install --no-deps --no-build-isolation --no-warn-script-location --root /project . \
    && cd / && PYTHONPATH=/project/opt/studybot/lib/python3.11/site-packages /opt/studybot/bin/python -c \
        "import content; assert content.__file__.startswith('/project/opt/studybot/'), content.__file__; content.load_model()"

FROM deps
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/studybot/bin:$PATH \
    STUDYBOT_DB=/data/studybot.db \
    STUDYBOT_HTTP_HOST=0.0.0.0 \
    MPLCONFIGDIR=/tmp/matplotlib
# MPLCONFIGDIR: matplotlib's font cache (charts) goes to /tmp, not into the database's volume.
RUN groupadd --gid 10001 studybot \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin studybot \
    && mkdir /data && chown 10001:10001 /data
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Unhealthy on anything but 200 from /healthz (503 while a channel is down), on STUDYBOT_HTTP_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
# SIGTERM (docker stop) shuts the bot down cleanly; in-flight work resumes on the next start.
STOPSIGNAL SIGTERM
CMD ["studybot", "run"]
# The project last (root's files, read-only to the bot), so that a change to it rebuilds only this step.
COPY --from=project /project/ /
