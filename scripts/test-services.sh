# Sourced by `make test`: find (or start) PostgreSQL and Redis for the tests and export their URLs.
# On a machine without them the tests that need them are skipped and say why; under CI=true a
# missing service fails the run, because CI here must exercise them.
pg_host=${SIGURNO_TEST_PG_HOST:-127.0.0.1}
redis_host=${SIGURNO_TEST_REDIS_HOST:-127.0.0.1}

_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! _port_open "$pg_host" 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "test-services: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
  sleep 2
fi
if ! _port_open "$redis_host" 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "test-services: starting Redis" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
  sleep 1
fi

if _port_open "$pg_host" 5432; then
  export SIGURNO_TEST_POSTGRES_URL=${SIGURNO_TEST_POSTGRES_URL:-postgresql+asyncpg://${USER:-$(id -un)}@$pg_host:5432/test}
else
  echo "test-services: no PostgreSQL on $pg_host:5432: PostgreSQL tests will be skipped" >&2
fi
if _port_open "$redis_host" 6379; then
  export SIGURNO_TEST_REDIS_URL=${SIGURNO_TEST_REDIS_URL:-redis://$redis_host:6379/15}
else
  echo "test-services: no Redis on $redis_host:6379: Redis tests will be skipped" >&2
fi
if [ "${CI:-}" = "true" ] && { [ -z "${SIGURNO_TEST_POSTGRES_URL:-}" ] || [ -z "${SIGURNO_TEST_REDIS_URL:-}" ]; }; then
  echo "test-services: CI must run against PostgreSQL and Redis" >&2
  return 1 2>/dev/null || exit 1
fi
