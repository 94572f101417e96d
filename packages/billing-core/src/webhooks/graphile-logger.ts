import { Logger } from 'graphile-worker';

/**
 * graphile-worker's log, reduced to what an operator acts on: its warnings and errors go to `onProblem`
 * (the process's own logger); its chatter (a worker started, a job ran) is dropped.
 */
export const graphileLogger = (onProblem?: (level: 'error' | 'warning', message: string) => void) =>
  new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') onProblem?.(level, message);
  });

export const quietLogger = graphileLogger();

/** A warning or error of graphile-worker's own (a runner that stopped, a job that threw), in its words. */
export class QueueProblem extends Error {
  override name = 'QueueProblem';
  constructor(
    readonly level: 'error' | 'warning',
    message: string,
  ) {
    super(message);
  }
}
