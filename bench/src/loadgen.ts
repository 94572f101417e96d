import autocannon from 'autocannon';

// A load generator in a process of its own: the bench's own timings (webhook acknowledgments) are
// then not measured through an event loop that autocannon keeps saturated.
process.once('message', async (m: { url: string; path: string; tokens: string[]; duration: number; connections: number }) => {
  let i = 0;
  const result = await autocannon({
    url: m.url,
    connections: m.connections,
    duration: m.duration,
    requests: [
      {
        method: 'GET',
        path: m.path,
        setupRequest: (req) => {
          req.headers = { ...req.headers, authorization: `Bearer ${m.tokens[i++ % m.tokens.length]}` };
          return req;
        },
      },
    ],
  });
  process.send?.({
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
    cpuPerRequestMicros: 0,
  });
  process.exit(0);
});
