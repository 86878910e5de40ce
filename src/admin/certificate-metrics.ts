// ACME certificates in the Prometheus text format, for /metrics beside the balancer's
// families: days left (what alerts watch), the expiry as a timestamp, and failed orders in
// a row. One series per certificate, labelled with its names (space-separated) and issuer.
import type { AcmeCertificateStatus } from '../acme/acme-manager.js';
import { escapeLabelValue, formatValue } from './prometheus.js';

interface Family {
  name: string;
  help: string;
  value: (status: AcmeCertificateStatus) => number | undefined;
}

const families: readonly Family[] = [
  {
    name: 'lb_certificate_days_left',
    help: 'Days until the certificate in service expires (fractional; negative once expired).',
    value: (s) => s.daysLeft,
  },
  {
    name: 'lb_certificate_not_after_seconds',
    help: 'Expiry of the certificate in service, Unix time in seconds.',
    value: (s) => (s.notAfter ? s.notAfter.getTime() / 1000 : undefined),
  },
  {
    name: 'lb_certificate_order_failures',
    help: 'ACME orders failed in a row since the last success (0 after a success).',
    value: (s) => s.failures,
  },
];

/** The families above for `statuses`, as exposition text ('' when there is no certificate). */
export function certificateMetrics(statuses: readonly AcmeCertificateStatus[]): string {
  if (statuses.length === 0) return '';
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`);
    for (const status of statuses) {
      const value = family.value(status);
      if (value === undefined) continue;
      const labels = `domains="${escapeLabelValue(status.domains.join(' '))}",issuer="${escapeLabelValue(status.issuer ?? '')}"`;
      lines.push(`${family.name}{${labels}} ${formatValue(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
