export { type AppOptions, createHandler } from './app.ts';
export { type ApiDeps, type Context, createContext } from './context.ts';
export { ConfigError, type Env, parseEnv } from './env.ts';
export type { AppRouter } from './root.ts';
export { type RunningServer, startServer } from './server.ts';
