import autocannon from 'autocannon';

// A load generator in a process of its own, so that what one measures is not timed through an event
// loop another load keeps saturated. GETs with rotating tokens for `duration` seconds, or each of
// `posts` once (pre-signed webhook deliveries) over `connections` kept-alive connections. For posts it
// also tells apart each connection's first answer (which includes the wait for the server to accept
// the connection) from the answers on connections already open.
interface Job {
  url: string;
  path: string;
  connections: number;
  duration?: number;
  tokens?: string[];
  posts?: Array<{ body: string; headers: Record<string, string> }>;
}

process.once('message', async (m: Job) => {
  let i = 0;
  const posts = m.posts;
  // Every answer's latency, split by whether it was its connection's first.
  const first: number[] = [];
  const later: number[] = [];
  const seen = new WeakSet<object>();
  // Without a callback autocannon returns its instance (an event emitter) as a promise of the result.
  const run = autocannon({
    url: m.url,
    connections: m.connections,
    ...(posts ? { amount: posts.length } : { duration: m.duration ?? 5 }),
    requests: [
      posts
        ? {
            method: 'POST',
            path: m.path,
            setupRequest: (req) => {
              const post = posts[i++ % posts.length] as { body: string; headers: Record<string, string> };
              return { ...req, body: post.body, headers: { ...req.headers, ...post.headers } };
            },
          }
        : {
            method: 'GET',
            path: m.path,
            setupRequest: (req) => {
              const tokens = m.tokens ?? [];
              req.headers = { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` };
              return req;
            },
          },
    ],
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  // Only for posts: a reading load runs at full speed on the CPU the server shares, and reports none of it.
  if (posts)
    run.on('response', (client: object, _status: number, _bytes: number, ms: number) => {
      (seen.has(client) ? later : first).push(ms);
      seen.add(client);
    });
  const result = await run;
  const pct = (xs: number[], q: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  };
  process.send?.({
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p90: result.latency.p90,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
    cpuPerRequestMicros: 0,
    ...(posts
      ? {
          firstOnConnection: { n: first.length, p50: pct(first, 0.5), max: pct(first, 1) },
          onOpenConnection: { n: later.length, p50: pct(later, 0.5), p99: pct(later, 0.99), max: pct(later, 1) },
        }
      : {}),
  });
  process.exit(0);
});
