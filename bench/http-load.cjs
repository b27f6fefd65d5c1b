// bench/http.ts's load generator: autocannon in its own process (so it never shares the servers' event loop),
// started once and kept for every measurement, so none of them pays for starting a process.
// Message in: { id, options } (autocannon's options) starts a run; { stop: id } ends one early (its result still comes).
// Message out: { id, result } or { id, error }.
const autocannon = require('autocannon');

const running = new Map();
process.on('message', (m) => {
  if (m.stop !== undefined) {
    running.get(m.stop)?.stop();
    return;
  }
  const instance = autocannon(m.options, (error, r) => {
    running.delete(m.id);
    if (error) {
      process.send({ id: m.id, error: String(error) });
      return;
    }
    process.send({
      id: m.id,
      result: {
        ok: r['2xx'],
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        total: r.requests.total,
        seconds: r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
      },
    });
  });
  running.set(m.id, instance);
});
process.on('disconnect', () => process.exit(0));
process.send('up');
