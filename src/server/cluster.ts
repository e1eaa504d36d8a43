/**
 * Several kmipd worker processes behind one port (node:cluster), to use every core: a mutual-TLS
 * handshake costs milliseconds of CPU and clients that reconnect per operation are bound by it.
 * The primary only supervises: it hands every worker the same TLS session-ticket keys (so a client
 * resumes its session whichever worker it lands on), restarts a worker that dies, and on
 * SIGTERM/SIGINT asks each to shut down gracefully.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';

const TICKET_KEYS_ENV = 'KMIPD_TICKET_KEYS';

/** The ticket keys a worker must use, if it is one. */
export function workerTicketKeys(): Buffer | undefined {
  const hex = process.env[TICKET_KEYS_ENV];
  return cluster.isWorker && hex ? Buffer.from(hex, 'hex') : undefined;
}

export function isClusterPrimary(workers: number): boolean {
  return cluster.isPrimary && workers > 1;
}

/** Runs the supervising primary until a signal stops it; resolves with the exit code. */
export function runPrimary(workers: number, log: Logger): Promise<number> {
  const env = { [TICKET_KEYS_ENV]: randomBytes(48).toString('hex') };
  let stopping = false;
  const fork = (): void => {
    cluster.fork(env);
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 500).unref();
  });
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, 'cluster started');
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping workers');
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      if (alive.length === 0) resolve(0);
      let left = alive.length;
      for (const worker of alive) {
        worker.once('exit', () => {
          if (--left === 0) resolve(0);
        });
        worker.process.kill(signal);
      }
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
