import type { Logger } from 'pino';

/** CPU time (user and system) of this process so far, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
}

/**
 * A start-up/pass milestone at debug level: ms since the process started and its CPU so far (the
 * timeline `BENCH_AGENT_TIMELINE=1` prints). Nothing is measured unless debug is on.
 */
export function logMilestone(
  logger: Logger,
  msg: string,
  fields: Record<string, unknown> = {},
): void {
  if (logger.isLevelEnabled('debug'))
    logger.debug({ ...fields, sinceStartMs: Math.round(performance.now()), cpuMs: cpuMs() }, msg);
}
