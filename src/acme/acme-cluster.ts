// ACME across several balancers through etcd (tls.acme.cluster, docs/acme.md "Cluster
// mode"). Every balancer campaigns for `<prefix>/election/orderer/<first domain>/` with
// etcd3's Election (its lease kept alive while the process lives); only the elected one
// orders, so balancers serving other certificates on the same prefix elect their own. Its
// challenge answers go to `<prefix>/challenges/<token>` under its lease (they vanish with
// it), and every balancer answers the union of what it watches there. Issued certificates
// go to `<prefix>/certificates/<first domain>`, the private key sealed with the operator's
// cluster key (sealed-key.ts); every balancer takes them into its own storage and serves
// them. The account key is shared the same way under `<prefix>/accounts/<directory hash>`.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Campaign, Etcd3, type IOptions, type Namespace, type WatchBuilder, type Watcher } from 'etcd3';

import type { AcmeClusterConfig, AcmeConfig } from '../config/acme-schema.js';
import type { AcmeManager, ChallengeResponder } from './acme-manager.js';
import { AcmeStorage, type StoredCertificate } from './acme-storage.js';
import { certificateFacts, coversDomains } from './certificate-facts.js';
import { challengeEntryProblem } from './challenge-entry.js';
import type { OrderCoordinator } from './order-coordinator.js';
import { openKey, sealKey } from './sealed-key.js';

export interface AcmeClusterOptions {
  config: AcmeConfig & { cluster: AcmeClusterConfig };
  /** The operator's 32-byte cluster key (cluster-key.ts reads it). */
  key: Buffer;
  /** TLS to etcd (https endpoints): PEM buffers, as etcd3 takes them. */
  credentials?: IOptions['credentials'];
  /** What this balancer proclaims when elected (who the leader is, read from etcd). Default `<host> pid <pid>`. */
  identity?: string;
  /** Wait after the orderer's own watch saw a challenge, for the others' watches (one round trip). Default 300. */
  challengeGraceMs?: number;
}

/** The events of an AcmeCluster. */
export interface AcmeClusterEventMap {
  /** This balancer became the orderer (won) or stopped being it (lost). */
  'acme-leader': { won: boolean; identity: string };
  /** Something failed that the cluster retries or outlives (etcd unreachable, a sealed key that does not open). */
  'acme-cluster-error': { error: Error; during: string };
}

/** A certificate as it sits in etcd. */
interface SharedCertificate {
  domains: string[];
  certPem: string;
  /** The private key, sealKey'd for the first domain. */
  keyCipher: string;
  notAfter: string;
}

const electionPrefix = 'orderer/';
const challengesPrefix = 'challenges/';
const certificatesPrefix = 'certificates/';
const campaignRetryMinMs = 1_000;
const campaignRetryMaxMs = 30_000;
const challengeSeenTimeoutMs = 10_000;
const watchAgainMs = 1_000;

/** A watch of what changes after `revision` (etcd's header revision of a read; '0': from now). */
function watchAfter(builder: WatchBuilder, revision: string): Watcher {
  return (revision === '0' ? builder : builder.startRevision((BigInt(revision) + 1n).toString())).watcher();
}

function errorOf(caught: unknown): Error {
  return caught instanceof Error ? caught : new Error(String(caught));
}

export class AcmeCluster extends EventEmitter implements OrderCoordinator {
  readonly identity: string;
  readonly #config: AcmeClusterOptions['config'];
  readonly #key: Buffer;
  readonly #grace: number;
  readonly #client: Etcd3;
  readonly #namespace: Namespace;
  readonly #storage: AcmeStorage;
  /** Challenge answers seen in etcd (every balancer's union), and who waits for one. */
  readonly #shared = new Map<string, string>();
  readonly #seenWaiters = new Map<string, () => void>();
  readonly #watchers: Watcher[] = [];
  #local: Record<string, string> | null | undefined;
  #target: ChallengeResponder | undefined;
  #manager: AcmeManager | undefined;
  #campaign: Campaign | undefined;
  #leaseId: string | undefined;
  #leader = false;
  #running = true;
  #certificatesRevision = '0';
  #campaignRetryMs = campaignRetryMinMs;

  constructor(options: AcmeClusterOptions) {
    super();
    this.#config = options.config;
    this.#key = options.key;
    this.#grace = options.challengeGraceMs ?? 300;
    this.identity = options.identity ?? `${hostname()} pid ${process.pid}`;
    const { etcd } = options.config.cluster;
    const timeoutMs = etcd.timeoutMs ?? 5_000;
    this.#client = new Etcd3({
      hosts: etcd.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
      dialTimeout: timeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    this.#namespace = this.#client.namespace(`${etcd.prefix}/`);
    this.#storage = new AcmeStorage(options.config.storage);
  }

  override emit<E extends keyof AcmeClusterEventMap>(event: E, payload: AcmeClusterEventMap[E]): boolean {
    return super.emit(event, payload);
  }

  override on<E extends keyof AcmeClusterEventMap>(event: E, listener: (payload: AcmeClusterEventMap[E]) => void): this {
    return super.on(event, listener);
  }

  /** The etcd key of the certificate for these domains (under the prefix). */
  get certificateKey(): string {
    return `${certificatesPrefix}${this.#config.domains[0] ?? ''}`;
  }

  /**
   * The election for this certificate: groups of balancers with other certificates on the
   * same prefix each elect their own orderer (keys `election/orderer/<first domain>/<lease>`).
   */
  get electionName(): string {
    return `${electionPrefix}${this.#config.domains[0] ?? ''}`;
  }

  /**
   * Before the manager starts: a good certificate in etcd, newer than the stored one, is
   * written to storage (so the manager starts from it, without an order), and the
   * challenge watch starts. etcd unreachable: reported, and the manager starts from what
   * storage has; the watches catch up when etcd is back.
   */
  async prepare(): Promise<void> {
    try {
      const response = await this.#namespace.get(this.certificateKey).exec();
      this.#certificatesRevision = response.header.revision;
      const kv = response.kvs[0];
      if (kv) {
        const shared = this.#open(kv.value.toString());
        if (shared && (await this.#newerThanStored(shared.certPem))) await this.#storage.writeCertificate(shared);
      }
    } catch (error) {
      this.emit('acme-cluster-error', { error: errorOf(error), during: 'reading the shared certificate' });
    }
    await this.#watchChallenges();
  }

  /** A responder that answers the union of etcd's challenges and the manager's own table. */
  responderFor(target: ChallengeResponder): ChallengeResponder {
    this.#target = target;
    return {
      setAcmeChallenges: (table) => {
        this.#local = table;
        this.#publish();
      },
    };
  }

  /** After the manager started: takes shared certificates as they come, and campaigns. */
  run(manager: AcmeManager): void {
    this.#manager = manager;
    this.#watchCertificate(this.#certificatesRevision);
    this.#startCampaign();
  }

  mayOrder(): boolean {
    return this.#leader && this.#running;
  }

  async publishChallenge(token: string, keyAuthorization: string): Promise<void> {
    const leaseId = this.#leaseId;
    if (!this.#leader || leaseId === undefined) throw new Error('no longer the orderer of the cluster');
    let timer: NodeJS.Timeout | undefined;
    // The waiter is registered before the put (the watch may deliver before the put's
    // answer), but the 10 s only start once the put is done: a slow etcd fails the put
    // (its own deadline), never leaves a rejected promise nobody listens to yet.
    const seen = new Promise<void>((resolve) => {
      if (this.#shared.get(token) === keyAuthorization) resolve();
      else this.#seenWaiters.set(token, resolve);
    });
    try {
      await this.#namespace.put(`${challengesPrefix}${token}`).value(keyAuthorization).lease(leaseId).exec();
      await Promise.race([
        seen,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the challenge ${token} was not seen back from etcd within ${challengeSeenTimeoutMs} ms`)),
            challengeSeenTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.#seenWaiters.delete(token);
    }
    // The others watch the same stream: at most a round trip behind this one.
    await sleep(this.#grace);
  }

  async withdrawChallenge(token: string): Promise<void> {
    try {
      await this.#namespace.delete().key(`${challengesPrefix}${token}`).exec();
    } catch (error) {
      // It goes with the lease anyway.
      this.#report(error, 'withdrawing a challenge');
    }
  }

  async shareCertificate(certificate: StoredCertificate): Promise<void> {
    const first = certificate.domains[0] ?? '';
    const shared: SharedCertificate = {
      domains: [...certificate.domains],
      certPem: certificate.certPem,
      keyCipher: sealKey(certificate.keyPem, this.#key, first),
      notAfter: new Date(certificateFacts(certificate.certPem).notAfter).toISOString(),
    };
    await this.#namespace.put(this.certificateKey).value(JSON.stringify(shared)).exec();
  }

  async accountKey(directory: string, local: () => Promise<string>): Promise<string> {
    const key = `accounts/${createHash('sha256').update(directory).digest('hex').slice(0, 16)}`;
    const existing = await this.#namespace.get(key).string();
    if (existing !== null) return openKey(existing, this.#key, directory);
    const mine = await local();
    // First one wins: a key someone else put meanwhile is the one everybody uses.
    const result = await this.#namespace
      .if(key, 'Create', '==', 0)
      .then(this.#namespace.put(key).value(sealKey(mine, this.#key, directory)))
      .else(this.#namespace.get(key))
      .commit();
    if (result.succeeded) return mine;
    const theirs = result.responses[0]?.response_range?.kvs[0]?.value.toString();
    return theirs === undefined ? mine : openKey(theirs, this.#key, directory);
  }

  /** Resigns (the lease goes, with this balancer's challenges, and another is elected at once) and disconnects. */
  close(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#setLeader(false);
    for (const watcher of this.#watchers) void watcher.cancel().catch(() => undefined);
    const campaign = this.#campaign;
    this.#campaign = undefined;
    void (campaign ? campaign.resign().catch(() => undefined) : Promise.resolve()).finally(() => this.#client.close());
  }

  #startCampaign(): void {
    if (!this.#running) return;
    const campaign = this.#namespace
      .election(this.electionName, this.#config.cluster.etcd.leaseTtlSeconds)
      .campaign(this.identity);
    this.#campaign = campaign;
    campaign.on('elected', () => {
      void campaign
        .getCampaignKey()
        .then((key) => {
          if (this.#campaign !== campaign || !this.#running) return;
          this.#leaseId = key.slice(key.lastIndexOf('/') + 1);
          this.#campaignRetryMs = campaignRetryMinMs;
          this.#setLeader(true);
        })
        .catch((error: unknown) => this.#report(error, 'reading the campaign lease'));
    });
    campaign.on('error', (error) => {
      if (this.#campaign !== campaign) return;
      this.#campaign = undefined;
      this.#setLeader(false);
      this.#report(error, 'campaigning to order');
      void campaign.resign().catch(() => undefined);
      // etcd away: try again, doubling the wait (1 s to 30 s) so the log is not flooded.
      setTimeout(() => this.#startCampaign(), this.#campaignRetryMs).unref();
      this.#campaignRetryMs = Math.min(this.#campaignRetryMs * 2, campaignRetryMaxMs);
    });
  }

  #setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (!leader) this.#leaseId = undefined;
    this.emit('acme-leader', { won: leader, identity: this.identity });
    this.#manager?.reconsider();
  }

  /** Watches the shared certificate after `revision` ('0': from now, read once connected). */
  #watchCertificate(revision: string): void {
    if (!this.#running) return;
    const builder = this.#namespace.watch().key(this.certificateKey);
    const known = revision !== '0';
    const watcher = watchAfter(builder, revision);
    watcher.on('put', (kv) => void this.#take(kv.value.toString()));
    // Not read at start (etcd was unreachable), or watched anew: read once the watch is connected.
    if (!known) watcher.once('connected', () => void this.#readShared());
    watcher.on('error', (error) => {
      this.#report(error, 'watching certificates');
      this.#watchAgain(watcher, () => this.#watchCertificate('0'));
    });
    this.#watchers.push(watcher);
  }

  /**
   * etcd3 emits 'error' on a watcher only when etcd cancelled it (e.g. its revision was
   * compacted away while disconnected): it is dead, so read again and watch anew.
   */
  #watchAgain(dead: Watcher, again: () => unknown): void {
    const index = this.#watchers.indexOf(dead);
    if (index >= 0) this.#watchers.splice(index, 1);
    if (this.#running) setTimeout(() => void again(), watchAgainMs).unref();
  }

  async #watchChallenges(): Promise<void> {
    if (!this.#running) return;
    let revision = '0';
    try {
      const response = await this.#namespace.getAll().prefix(challengesPrefix).exec();
      revision = response.header.revision;
      this.#shared.clear();
      for (const kv of response.kvs) {
        const token = kv.key.toString().slice(challengesPrefix.length);
        if (this.#keepChallenge(token, kv.value.toString())) this.#seenWaiters.get(token)?.();
      }
      this.#publish();
    } catch (error) {
      this.#report(error, 'reading the challenges');
    }
    const builder = this.#namespace.watch().prefix(challengesPrefix);
    const watcher = watchAfter(builder, revision);
    watcher.on('put', (kv) => {
      const token = kv.key.toString().slice(challengesPrefix.length);
      if (!this.#keepChallenge(token, kv.value.toString())) return;
      this.#publish();
      this.#seenWaiters.get(token)?.();
    });
    watcher.on('delete', (kv) => {
      this.#shared.delete(kv.key.toString().slice(challengesPrefix.length));
      this.#publish();
    });
    watcher.on('error', (error) => {
      this.#report(error, 'watching challenges');
      this.#watchAgain(watcher, () => this.#watchChallenges());
    });
    this.#watchers.push(watcher);
  }

  /** Keeps a challenge read from etcd if the balancer can answer it; reports and drops it otherwise. */
  #keepChallenge(token: string, keyAuthorization: string): boolean {
    const problem = challengeEntryProblem(token, keyAuthorization);
    if (problem === undefined) {
      this.#shared.set(token, keyAuthorization);
      return true;
    }
    // A good one put before under the same token does not stay behind a bad replacement.
    if (this.#shared.delete(token)) this.#publish();
    this.#report(new Error(problem), 'reading the challenges');
    return false;
  }

  #publish(): void {
    const target = this.#target;
    if (!target || this.#local === undefined || !this.#running) return;
    try {
      target.setAcmeChallenges(this.#local === null ? null : { ...Object.fromEntries(this.#shared), ...this.#local });
    } catch (error) {
      // Called from etcd's watch handlers: a throw there would end the process.
      this.#report(error, 'publishing the challenges');
    }
  }

  /** A shared certificate opened (its key unsealed), or undefined (reported) when it does not open or is for other names. */
  #open(text: string): StoredCertificate | undefined {
    try {
      const shared = JSON.parse(text) as SharedCertificate;
      const first = this.#config.domains[0] ?? '';
      const facts = certificateFacts(shared.certPem);
      if (!coversDomains(facts, this.#config.domains)) {
        throw new Error(`the shared certificate names ${facts.names.join(', ')}, not all of ${this.#config.domains.join(', ')}`);
      }
      const keyPem = openKey(shared.keyCipher, this.#key, first);
      // The seal binds the key to the first domain only: a writer of the prefix without the
      // cluster key could still pair the sealed key in etcd with another certificate.
      if (!new X509Certificate(shared.certPem).checkPrivateKey(createPrivateKey(keyPem))) {
        throw new Error(`the shared certificate for ${first} does not match its sealed private key`);
      }
      return { domains: [...this.#config.domains], certPem: shared.certPem, keyPem };
    } catch (error) {
      this.#report(error, 'opening the shared certificate');
      return undefined;
    }
  }

  async #newerThanStored(certPem: string): Promise<boolean> {
    const facts = certificateFacts(certPem);
    if (facts.notAfter <= Date.now()) return false;
    try {
      const stored = await this.#storage.readCertificate(this.#config.domains);
      return !stored || certificateFacts(stored.certPem).notAfter < facts.notAfter;
    } catch {
      return true;
    }
  }

  async #readShared(): Promise<void> {
    try {
      const text = await this.#namespace.get(this.certificateKey).string();
      if (text !== null) await this.#take(text);
    } catch (error) {
      this.#report(error, 'reading the shared certificate');
    }
  }

  async #take(text: string): Promise<void> {
    const shared = this.#open(text);
    if (!shared || !this.#manager) return;
    try {
      await this.#manager.takeCertificate(shared.certPem, shared.keyPem);
    } catch (error) {
      this.#report(error, 'taking the shared certificate');
    }
  }

  #report(error: unknown, during: string): void {
    if (this.#running) this.emit('acme-cluster-error', { error: errorOf(error), during });
  }
}
