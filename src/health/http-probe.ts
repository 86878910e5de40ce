// An HTTP health check: a minimal HTTP/1.1 GET over node:net (one connection per check,
// `Connection: close`), judged by the status line alone; the connection is closed as
// soon as the status line has arrived, so a large or endless body costs nothing.
import { statusMatches } from '../config/expect-status.js';
import type { HttpProbeTarget, ProbeResult } from './probe-target.js';
import { openProbe } from './socket-probe.js';

/** A status line longer than this is not one. */
const maxStatusLine = 1024;

export function probeHttp(target: HttpProbeTarget): Promise<ProbeResult> {
  return openProbe(target, (probe) => {
    let received: Buffer = Buffer.alloc(0);
    probe.socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n');
      if (end === -1) {
        if (received.length > maxStatusLine) probe.finish({ ok: false, reason: 'invalid response: no status line' });
        return;
      }
      const line = received.subarray(0, end).toString('latin1');
      const match = /^HTTP\/1\.[01] ([0-9]{3})(?: |$)/.exec(line);
      if (!match) {
        probe.finish({ ok: false, reason: `invalid response: '${line.slice(0, 60)}'` });
        return;
      }
      const status = Number(match[1]);
      probe.finish(
        statusMatches(target.expect, status)
          ? { ok: true, reason: `status ${status}` }
          : { ok: false, reason: `status ${status} (expected ${formatRanges(target)})` },
      );
    });
    probe.socket.write(
      `GET ${target.path} HTTP/1.1\r\n` +
        `Host: ${target.hostHeader}\r\n` +
        'User-Agent: lb-native-health-check\r\n' +
        'Accept: */*\r\n' +
        'Connection: close\r\n' +
        '\r\n',
    );
  });
}

function formatRanges(target: HttpProbeTarget): string {
  return target.expect.map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`)).join(',');
}
