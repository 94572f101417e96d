import { Logger } from 'graphile-worker';

/** The longest message of graphile-worker's passed on (its messages quote the error a job threw). */
const MAX_MESSAGE = 500;

/**
 * graphile-worker's log, reduced to what an operator acts on: its warnings and errors go to `onProblem`
 * (the process's own logger), each at most MAX_MESSAGE characters; its chatter (a worker started, a
 * job ran) is dropped.
 */
export const graphileLogger = (onProblem?: (level: 'error' | 'warning', message: string) => void) =>
  new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') onProblem?.(level, message.slice(0, MAX_MESSAGE));
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
