// What an AcmeManager asks when it is not alone (acme-cluster.ts answers through etcd):
// whether it may order now, where its challenge answers go, where an issued certificate
// goes, and which account key to use. Without a coordinator the manager orders for itself.
import type { StoredCertificate } from './acme-storage.js';

export interface OrderCoordinator {
  /** True while this balancer is the one that orders (the others take its certificates). */
  mayOrder(): boolean;
  /** Publishes a challenge answer; resolves when every balancer can answer it. */
  publishChallenge(token: string, keyAuthorization: string): Promise<void>;
  withdrawChallenge(token: string): Promise<void>;
  /** Hands a newly issued certificate to the other balancers. */
  shareCertificate(certificate: StoredCertificate): Promise<void>;
  /** The account key every balancer orders with; `local` reads or makes this one's. */
  accountKey(directory: string, local: () => Promise<string>): Promise<string>;
  /** The manager stopped. */
  close(): void;
}
