// AcmeManager: gets and renews one certificate (for `domains`) from an ACME server over
// HTTP-01, answered by the balancer's workers from the table it publishes to them. It
// keeps the certificate, its key and the account key in the storage folder, starts from
// there without a new order while the stored certificate is good, renews at two thirds of
// the lifetime, retries with exponential backoff, and never drops the certificate in
// service because an order failed. The TLS listeners take its 'certificate' events.
import { EventEmitter } from 'node:events';

import type { AcmeChallengeType, AcmeConfig } from '../config/acme-schema.js';
import type { AcmeEventMap, CertificateEvent } from './acme-events.js';
import { AcmeStorage, type StoredCertificate } from './acme-storage.js';
import { type CertificateFacts, certificateFacts, coversDomains } from './certificate-facts.js';
import { loadAcmeClient, trustDirectoryCa } from './acme-client-settings.js';
import type { OrderCoordinator } from './order-coordinator.js';
import {
  type Backoff,
  daysLeft,
  defaultBackoff,
  expiringDays,
  renewalFraction,
  renewalTime,
  retryDelay,
} from './renewal-schedule.js';

/** Where challenge answers go: the balancer (its native responder) or several. */
export interface ChallengeResponder {
  /** The whole table each time; null gives the challenge path back to the backends. */
  setAcmeChallenges(challenges: Record<string, string> | null): void;
  /**
   * TLS-ALPN-01 (config `challenge: tls-alpn-01`): DNS name -> its challenge certificate
   * and key, the whole table each time; null when the manager stops.
   */
  setAcmeAlpnChallenges?(challenges: Record<string, AlpnChallengeCertificate> | null): void;
}

/** A TLS-ALPN-01 challenge certificate (RFC 8737): self-signed, with the acmeIdentifier extension. */
export interface AlpnChallengeCertificate {
  certPem: string;
  keyPem: string;
}

export interface AcmeManagerOptions {
  /** The `tls.acme` section; `challenge` defaults to http-01. */
  config: Omit<AcmeConfig, 'challenge'> & { challenge?: AcmeChallengeType | undefined };
  responder: ChallengeResponder;
  /**
   * PEM certificates the ACME server's own HTTPS certificate chains to, beyond Node's
   * trusted roots: a private ACME CA (step-ca, or pebble in the tests).
   */
  directoryCa?: string;
  backoff?: Backoff;
  /** Share of the lifetime after which to renew; 2/3 unless a test wants it otherwise. */
  renewalFraction?: number;
  /** With other balancers (tls.acme.cluster): who orders, where challenges and certificates go. */
  coordinator?: OrderCoordinator;
}

/** One certificate's state, for the admin API, metrics and `lb-native certs`. */
export interface AcmeCertificateStatus {
  domains: string[];
  /** Absent until a certificate is in service. */
  issuer?: string;
  notBefore?: Date;
  notAfter?: Date;
  daysLeft?: number;
  /** When the next order is due (renewal time, or the retry after a failure). */
  nextAttemptAt?: Date;
  ordering: boolean;
  /** Failures in a row since the last success. */
  failures: number;
  lastResult?: { at: Date; ok: boolean; error?: string };
}

interface InService {
  certPem: string;
  keyPem: string;
  facts: CertificateFacts;
}

// setTimeout takes at most 2^31-1 ms (24.8 days): the manager wakes at least daily and
// looks again, which is also when 'certificate-expiring' is checked.
const maxSleepMs = 86_400_000;

export class AcmeManager extends EventEmitter {
  readonly domains: string[];
  readonly #config: AcmeConfig;
  readonly #responder: ChallengeResponder;
  readonly #storage: AcmeStorage;
  readonly #backoff: Backoff;
  readonly #fraction: number;
  readonly #coordinator: OrderCoordinator | undefined;
  readonly #challenges = new Map<string, string>();
  readonly #alpnChallenges = new Map<string, AlpnChallengeCertificate>();
  #current: InService | undefined;
  #nextAttemptAt = 0;
  #failures = 0;
  #lastResult: AcmeCertificateStatus['lastResult'];
  #expiringRaisedFor: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ordering: Promise<boolean> | undefined;
  #running = false;

  constructor(options: AcmeManagerOptions) {
    super();
    this.#config = { ...options.config, challenge: options.config.challenge ?? 'http-01' };
    this.domains = [...options.config.domains];
    this.#responder = options.responder;
    if (this.#config.challenge === 'tls-alpn-01' && options.coordinator) {
      // The coordinator shares HTTP-01 answers only: another balancer hit by the validator would not answer.
      throw new Error('tls.acme.challenge tls-alpn-01 cannot be used with tls.acme.cluster (TLS-ALPN-01 answers are not shared)');
    }
    if (this.#config.challenge === 'tls-alpn-01' && !this.#responder.setAcmeAlpnChallenges) {
      throw new Error('tls.acme.challenge tls-alpn-01 needs a responder that answers TLS-ALPN-01 (setAcmeAlpnChallenges)');
    }
    this.#storage = new AcmeStorage(options.config.storage);
    if (options.directoryCa !== undefined) trustDirectoryCa(options.directoryCa);
    this.#backoff = options.backoff ?? defaultBackoff;
    this.#fraction = options.renewalFraction ?? renewalFraction;
    this.#coordinator = options.coordinator;
  }

  override emit<E extends keyof AcmeEventMap>(event: E, payload: AcmeEventMap[E]): boolean {
    return super.emit(event, payload);
  }

  override on<E extends keyof AcmeEventMap>(event: E, listener: (payload: AcmeEventMap[E]) => void): this {
    return super.on(event, listener);
  }

  override once<E extends keyof AcmeEventMap>(event: E, listener: (payload: AcmeEventMap[E]) => void): this {
    return super.once(event, listener);
  }

  /**
   * Checks the storage folder, takes the challenge path on the balancer, and puts the
   * stored certificate in service if it is still good for these names ('certificate'
   * with source 'storage'); orders one at once otherwise (in the background: watch the
   * events, or call renewNow() to wait for it).
   */
  async start(): Promise<void> {
    if (this.#running) return;
    await this.#storage.checkWritable();
    this.#running = true;
    this.#publishChallenges();
    const stored = await this.#readStored();
    if (stored) {
      this.#adopt(stored, 'storage');
      this.#nextAttemptAt = renewalTime(stored.facts, this.#fraction);
    } else {
      this.#nextAttemptAt = Date.now();
    }
    this.#wake();
  }

  /** Stops the timers and gives the challenge path back. An order under way is finished and stored, but not served. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#challenges.clear();
    this.#alpnChallenges.clear();
    this.#responder.setAcmeChallenges(null);
    this.#responder.setAcmeAlpnChallenges?.(null);
    this.#coordinator?.close();
  }

  /** The coordinator's answer to mayOrder() changed: order now if one is due. */
  reconsider(): void {
    this.#wake();
  }

  /**
   * A certificate another balancer issued (through the coordinator): stored here and put
   * in service ('certificate' with source 'cluster'), its renewal scheduled as if issued
   * here. Ignored when it is the one in service, older, or not for these names.
   */
  async takeCertificate(certPem: string, keyPem: string): Promise<boolean> {
    // An order under way first: this may be its own echo (then the same serial, ignored),
    // and if it fails this one still counts.
    await this.#ordering;
    const facts = certificateFacts(certPem);
    const current = this.#current;
    if (!coversDomains(facts, this.domains) || facts.notAfter <= Date.now()) return false;
    if (current && (current.facts.serialNumber === facts.serialNumber || current.facts.notAfter > facts.notAfter)) return false;
    await this.#storage.writeCertificate({ domains: this.domains, certPem, keyPem });
    if (!this.#running) return false;
    this.#failures = 0;
    this.#nextAttemptAt = renewalTime(facts, this.#fraction);
    this.#adopt({ certPem, keyPem, facts }, 'cluster');
    this.#wake();
    return true;
  }

  /** Orders now (or joins the order under way). True if a new certificate is in service. */
  renewNow(): Promise<boolean> {
    this.#ordering ??= this.#order().finally(() => {
      this.#ordering = undefined;
      this.#wake();
    });
    return this.#ordering;
  }

  /** The certificate in service, if any. */
  certificate(): { domains: string[]; certPem: string; keyPem: string } | undefined {
    const current = this.#current;
    return current ? { domains: [...this.domains], certPem: current.certPem, keyPem: current.keyPem } : undefined;
  }

  status(now = Date.now()): AcmeCertificateStatus {
    const facts = this.#current?.facts;
    return {
      domains: [...this.domains],
      ...(facts
        ? {
            issuer: facts.issuer,
            notBefore: new Date(facts.notBefore),
            notAfter: new Date(facts.notAfter),
            daysLeft: daysLeft(facts.notAfter, now),
          }
        : {}),
      ...(this.#running ? { nextAttemptAt: new Date(this.#nextAttemptAt) } : {}),
      ordering: this.#ordering !== undefined,
      failures: this.#failures,
      ...(this.#lastResult ? { lastResult: { ...this.#lastResult } } : {}),
    };
  }

  async #readStored(): Promise<InService | undefined> {
    let stored: StoredCertificate | undefined;
    let facts: CertificateFacts;
    try {
      stored = await this.#storage.readCertificate(this.domains);
      if (!stored) return undefined;
      facts = certificateFacts(stored.certPem);
    } catch {
      return undefined; // unreadable or not a certificate: order a new one
    }
    if (!coversDomains(facts, this.domains) || facts.notAfter <= Date.now()) return undefined;
    return { certPem: stored.certPem, keyPem: stored.keyPem, facts };
  }

  #adopt(next: InService, source: CertificateEvent['source']): void {
    const previous = this.#current;
    this.#current = next;
    this.emit('certificate', {
      domains: [...this.domains],
      certPem: next.certPem,
      keyPem: next.keyPem,
      notAfter: new Date(next.facts.notAfter),
      source,
    });
    if (previous && source !== 'storage') {
      this.emit('certificate-renewed', {
        domains: [...this.domains],
        notAfter: new Date(next.facts.notAfter),
        daysLeft: daysLeft(next.facts.notAfter, Date.now()),
      });
    }
  }

  #wake(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#checkExpiring();
    if (this.#ordering) return; // renewNow's finally wakes again
    const wait = this.#nextAttemptAt - Date.now();
    // Not the orderer: the certificate comes from the one that is (reconsider() wakes us).
    const mayOrder = this.#coordinator?.mayOrder() ?? true;
    if (wait <= 0 && mayOrder) {
      void this.renewNow();
      return;
    }
    this.#timer = setTimeout(() => this.#wake(), mayOrder ? Math.min(wait, maxSleepMs) : maxSleepMs);
    this.#timer.unref();
  }

  #checkExpiring(): void {
    const facts = this.#current?.facts;
    if (!facts || this.#expiringRaisedFor === facts.serialNumber) return;
    const left = daysLeft(facts.notAfter, Date.now());
    if (left > expiringDays) return;
    this.#expiringRaisedFor = facts.serialNumber;
    this.emit('certificate-expiring', { domains: [...this.domains], notAfter: new Date(facts.notAfter), daysLeft: left });
  }

  #publishChallenges(): void {
    if (this.#running) this.#responder.setAcmeChallenges(Object.fromEntries(this.#challenges));
  }

  #publishAlpnChallenges(): void {
    if (this.#running) this.#responder.setAcmeAlpnChallenges?.(Object.fromEntries(this.#alpnChallenges));
  }

  async #order(): Promise<boolean> {
    try {
      const issued = await this.#issue();
      await this.#storage.writeCertificate({ domains: this.domains, certPem: issued.certPem, keyPem: issued.keyPem });
      // Not shared is not done: the order counts as failed and is retried, so the
      // balancers do not drift apart.
      await this.#coordinator?.shareCertificate({ domains: this.domains, certPem: issued.certPem, keyPem: issued.keyPem });
      this.#failures = 0;
      this.#lastResult = { at: new Date(), ok: true };
      this.#nextAttemptAt = renewalTime(issued.facts, this.#fraction);
      if (this.#running) this.#adopt(issued, 'issued');
      return true;
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (this.#coordinator && !this.#coordinator.mayOrder()) {
        // Leadership lost during the order (a lease that lapsed under load, say): no fault
        // of the CA's, so no backoff. The order stays due; whoever orders next (this
        // balancer again, through reconsider(), or another) does it at once.
        this.#lastResult = { at: new Date(), ok: false, error: error.message };
        this.emit('certificate-failed', { domains: [...this.domains], failures: this.#failures, error, retryInMs: 0 });
        return false;
      }
      this.#failures += 1;
      const retryInMs = retryDelay(this.#failures, this.#backoff);
      this.#lastResult = { at: new Date(), ok: false, error: error.message };
      this.#nextAttemptAt = Date.now() + retryInMs;
      this.emit('certificate-failed', { domains: [...this.domains], failures: this.#failures, error, retryInMs });
      return false;
    } finally {
      this.#challenges.clear();
      this.#publishChallenges();
      if (this.#alpnChallenges.size > 0) {
        this.#alpnChallenges.clear();
        this.#publishAlpnChallenges();
      }
    }
  }

  #accountKey(): Promise<string> {
    const coordinator = this.#coordinator;
    if (!coordinator) return this.#localAccountKey();
    return coordinator.accountKey(this.#config.directory, () => this.#localAccountKey());
  }

  async #localAccountKey(): Promise<string> {
    const { directory, email } = this.#config;
    const stored = await this.#storage.readAccountKey(directory);
    if (stored !== undefined) return stored;
    const acme = await loadAcmeClient();
    const created = (await acme.crypto.createPrivateEcdsaKey()).toString();
    await this.#storage.writeAccount(directory, email, created);
    return created;
  }

  async #issue(): Promise<InService> {
    const acme = await loadAcmeClient();
    const client = new acme.Client({
      directoryUrl: this.#config.directory,
      accountKey: await this.#accountKey(),
      // Polling for the order and authorizations: from half a second, at most ~1 min in all.
      backoffMin: 500,
      backoffMax: 10_000,
      backoffAttempts: 10,
    });
    const [key, csr] = await acme.crypto.createCsr({ altNames: this.domains }, await acme.crypto.createPrivateEcdsaKey());
    const certPem = await client.auto({
      csr,
      email: this.#config.email,
      termsOfServiceAgreed: true,
      challengePriority: [this.#config.challenge],
      // acme-client would first fetch the token itself through public DNS; the ACME
      // server's own check is the one that counts, and hairpin NAT often fails ours.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        // acme-client's types list only http-01 and dns-01; the server offers tls-alpn-01 too.
        const type: string = challenge.type;
        if (type === 'tls-alpn-01' && this.#config.challenge === 'tls-alpn-01') {
          // RFC 8737: a certificate for the name, carrying the SHA-256 of the key authorization.
          const [keyPem, certPem] = await acme.crypto.createAlpnCertificate(
            authz,
            keyAuthorization,
            await acme.crypto.createPrivateEcdsaKey(),
          );
          this.#alpnChallenges.set(authz.identifier.value, { certPem: certPem.toString(), keyPem: keyPem.toString() });
          this.#publishAlpnChallenges();
          return;
        }
        if (type !== 'http-01' || this.#config.challenge !== 'http-01') {
          throw new Error(`challenge type ${type} is not answered`);
        }
        if (this.#coordinator) return this.#coordinator.publishChallenge(challenge.token, keyAuthorization);
        this.#challenges.set(challenge.token, keyAuthorization);
        this.#publishChallenges();
      },
      challengeRemoveFn: async (authz, challenge) => {
        if ((challenge.type as string) === 'tls-alpn-01') {
          this.#alpnChallenges.delete(authz.identifier.value);
          this.#publishAlpnChallenges();
          return;
        }
        if (this.#coordinator) return this.#coordinator.withdrawChallenge(challenge.token);
        this.#challenges.delete(challenge.token);
        this.#publishChallenges();
      },
    });
    const facts = certificateFacts(certPem);
    if (!coversDomains(facts, this.domains)) {
      throw new Error(`the issued certificate names ${facts.names.join(', ')}, not all of ${this.domains.join(', ')}`);
    }
    return { certPem, keyPem: key.toString(), facts };
  }
}
