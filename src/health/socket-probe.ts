// The socket part every check shares: connect to a backend over node:net with one overall
// timeout and an abort signal, and settle exactly once (the socket is destroyed then).
import { type Socket, connect } from 'node:net';

import type { ProbeResult, ProbeTarget } from './probe-target.js';

export interface SocketProbe {
  socket: Socket;
  /** Settles the probe (first call wins) and destroys the socket. */
  finish(result: ProbeResult): void;
  result: Promise<ProbeResult>;
}

/**
 * Connects to the target and calls `onConnect` once connected. Connection errors, the
 * timeout and an abort finish the probe as failed.
 */
export function openProbe(target: ProbeTarget, onConnect: (probe: SocketProbe) => void): Promise<ProbeResult> {
  let settle!: (result: ProbeResult) => void;
  const result = new Promise<ProbeResult>((resolve) => (settle = resolve));
  const socket = connect({ host: target.host, port: target.port, noDelay: true });
  let done = false;
  const onAbort = () => probe.finish({ ok: false, reason: 'check cancelled' });
  const timer = setTimeout(() => probe.finish({ ok: false, reason: `timed out after ${target.timeoutMs} ms` }), target.timeoutMs);
  timer.unref();
  const probe: SocketProbe = {
    socket,
    result,
    finish(outcome) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      target.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      settle(outcome);
    },
  };
  if (target.signal?.aborted) {
    probe.finish({ ok: false, reason: 'check cancelled' });
    return result;
  }
  target.signal?.addEventListener('abort', onAbort, { once: true });
  let connected = false;
  socket.once('connect', () => {
    connected = true;
    onConnect(probe);
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    probe.finish({ ok: false, reason: `${connected ? 'socket' : 'connect'} ${error.code ?? error.message}` });
  });
  socket.once('close', () => probe.finish({ ok: false, reason: 'connection closed before a response' }));
  return result;
}
