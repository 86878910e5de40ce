// The socket part every check shares: connect to a backend over node:net (or node:tls for
// a TLS backend, verified with the backend's own settings) with one overall timeout and an
// abort signal, and settle exactly once (the socket is destroyed then).
import { type Socket, connect, isIP } from 'node:net';
import { checkServerIdentity, connect as connectTls } from 'node:tls';

import type { ProbeResult, ProbeTarget, ProbeTls } from './probe-target.js';

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
  const socket = target.tls ? openTls(target, target.tls) : connect({ host: target.host, port: target.port, noDelay: true });
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
  // A TLS backend is connected once the handshake (and verification) is done.
  socket.once(target.tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    onConnect(probe);
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    const what = connected ? 'socket' : target.tls ? 'TLS connect' : 'connect';
    probe.finish({ ok: false, reason: `${what} ${error.code ?? error.message}` });
  });
  socket.once('close', () => probe.finish({ ok: false, reason: 'connection closed before a response' }));
  return result;
}

/** A TLS connection to the backend's numeric address, checked against its configured name. */
function openTls(target: ProbeTarget, tls: ProbeTls): Socket {
  const name = tls.serverName;
  const socket = connectTls({
    host: target.host,
    port: target.port,
    ...(isIP(name) === 0 ? { servername: name } : {}),
    rejectUnauthorized: tls.verify,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ALPNProtocols: ['http/1.1'],
    checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
  });
  socket.setNoDelay(true);
  return socket;
}
