import autocannon from 'autocannon';

// A load generator in a process of its own, so that what one measures is not timed through an event
// loop another load keeps saturated. GETs with rotating tokens for `duration` seconds, or each of
// `posts` once (pre-signed webhook deliveries) over `connections` kept-alive connections.
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
  const result = await autocannon({
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
  });
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
  });
  process.exit(0);
});
