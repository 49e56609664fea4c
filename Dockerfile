# StudyBot: `studybot run` on a slim Python, as a non-root user, the SQLite database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STUDYBOT_DB=/data/studybot.db \
    STUDYBOT_HTTP_HOST=0.0.0.0

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
COPY jobs ./jobs
RUN pip install . \
    && useradd --create-home --uid 10001 studybot \
    && mkdir -p /data && chown studybot:studybot /data
# The image fails to build if the bundled speech does not build into lessons and questions.
USER studybot
RUN python -c "from content import load_model; load_model()"

VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
# SIGTERM (docker stop) shuts the bot down cleanly; in-flight work resumes on the next start.
STOPSIGNAL SIGTERM
CMD ["studybot", "run"]
