// Watches the TLS listeners' certificate and key files and calls back once they have
// settled after a change (a renewal writes two files, so a debounce). The files are
// polled with stat (fs.watchFile) rather than watched with inotify: a file replaced by
// rename or a symlink switched to a new target (certbot, an atomic mv) is seen the same
// as one rewritten in place, and no inotify instance stays open in the process.
import { type StatWatcher, type Stats, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';

import type { ListenerTlsOptions } from '../config/schema.js';

/** How often the files are looked at. */
export const certificatePollMs = 500;
/** Wait this long after the last change seen before reloading. */
export const certificateDebounceMs = 250;

export class CertificateWatch {
  readonly #files: string[];
  readonly #listener: (current: Stats, previous: Stats) => void;
  #timer: NodeJS.Timeout | undefined;

  /** Starts watching every listener's files; `onChange` runs once they have been quiet for the debounce. */
  constructor(listeners: readonly ListenerTlsOptions[], onChange: () => void) {
    const files = listeners.flatMap((tls) => [
      ...(tls.certificates ?? []).flatMap((c) => [c.cert, c.key]),
      ...(tls.clientCertificates ? [tls.clientCertificates.ca] : []),
    ]);
    this.#files = [...new Set(files.map((file) => resolve(file)))];
    this.#listener = (current, previous) => {
      const changed = current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size;
      if (!changed) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(onChange, certificateDebounceMs);
      this.#timer.unref();
    };
    for (const file of this.#files) {
      const watcher: StatWatcher = watchFile(file, { interval: certificatePollMs, persistent: false }, this.#listener);
      watcher.unref();
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const file of this.#files) unwatchFile(file, this.#listener);
  }
}
