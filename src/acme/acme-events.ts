// The events an AcmeManager emits: one list of names, and the payload of each.

/** Every event name an AcmeManager emits. */
export const acmeEventNames = ['certificate', 'certificate-renewed', 'certificate-expiring', 'certificate-failed'] as const;

export type AcmeEventName = (typeof acmeEventNames)[number];

/**
 * Payload of 'certificate': the certificate to serve for `domains`, from storage at start
 * or newly issued. This is what the TLS listeners take (hot-swapped on each one).
 */
export interface CertificateEvent {
  domains: string[];
  /** The leaf certificate followed by its chain, PEM. */
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** 'storage': loaded at start, still good; 'issued': a new order; 'cluster': issued by another balancer. */
  source: 'storage' | 'issued' | 'cluster';
}

/** Payload of 'certificate-renewed': a new certificate replaced one that was in service. */
export interface CertificateRenewedEvent {
  domains: string[];
  notAfter: Date;
  daysLeft: number;
}

/** Payload of 'certificate-expiring': the certificate in service has 14 days or fewer left. */
export interface CertificateExpiringEvent {
  domains: string[];
  notAfter: Date;
  daysLeft: number;
}

/**
 * Payload of 'certificate-failed': an order failed; the certificate in service (if any)
 * stays, and the next attempt is `retryInMs` from now.
 */
export interface CertificateFailedEvent {
  domains: string[];
  /** Failures in a row, this one included. */
  failures: number;
  error: Error;
  retryInMs: number;
}

export interface AcmeEventMap {
  certificate: CertificateEvent;
  'certificate-renewed': CertificateRenewedEvent;
  'certificate-expiring': CertificateExpiringEvent;
  'certificate-failed': CertificateFailedEvent;
}
