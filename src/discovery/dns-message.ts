// The DNS wire format (RFC 1035), only as much as SRV discovery needs: a query for one
// name and type, and a parser for the answer that keeps every record's TTL. Node's
// `dns.Resolver` returns TTLs for A/AAAA but not for SRV, hence this.
import { isIPv4 } from 'node:net';

/** Record types used here; others are parsed as `{ type, data }` and ignored by callers. */
export const dnsTypes = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 } as const;

export type DnsQueryType = 'A' | 'AAAA' | 'SRV';

/** Response codes (RCODE) a resolver may answer with. */
export const dnsRcodes: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

interface RecordBase {
  /** Owner name, lower case, without the trailing dot. */
  name: string;
  /** Seconds the record may be cached. */
  ttl: number;
}

export type DnsRecord =
  | (RecordBase & { type: 'A' | 'AAAA'; address: string })
  | (RecordBase & { type: 'CNAME'; target: string })
  | (RecordBase & { type: 'SRV'; priority: number; weight: number; port: number; target: string })
  | (RecordBase & { type: 'OTHER'; code: number });

export interface DnsResponse {
  id: number;
  /** TC: the answer did not fit in the UDP datagram; ask again over TCP. */
  truncated: boolean;
  /** RCODE, e.g. 0 (NOERROR), 3 (NXDOMAIN). */
  rcode: number;
  answers: DnsRecord[];
  /** Additional section: resolvers often put the A/AAAA records of SRV targets here. */
  additional: DnsRecord[];
}

/** A malformed DNS message. */
export class DnsFormatError extends Error {
  readonly code = 'EBADRESP';
}

/**
 * Encodes a recursive query for `name` and `type`, with an EDNS0 OPT record advertising
 * a 1232-byte UDP buffer so that larger SRV sets come back without truncation.
 */
export function encodeQuery(id: number, name: string, type: DnsQueryType): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD: recursion desired
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  const question = Buffer.concat([encodeName(name), u16(dnsTypes[type]), u16(1)]);
  // OPT: root name, type 41, class = UDP payload size, TTL = extended flags 0, no data.
  const opt = Buffer.from([0, 0, dnsTypes.OPT, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, question, opt]);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}

/** A name as length-prefixed labels. Throws for empty labels or labels over 63 bytes. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const bytes = Buffer.from(label, 'ascii');
      if (bytes.length === 0 || bytes.length > 63) {
        throw new RangeError(`'${name}' is not a valid DNS name (labels must be 1-63 bytes)`);
      }
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const encoded = Buffer.concat(parts);
  if (encoded.length > 255) throw new RangeError(`'${name}' is longer than 255 bytes`);
  return encoded;
}

/** Parses a response. Throws DnsFormatError for anything truncated or inconsistent. */
export function decodeResponse(message: Buffer): DnsResponse {
  const reader = new Reader(message);
  const id = reader.u16();
  const flags = reader.u16();
  if ((flags & 0x8000) === 0) throw new DnsFormatError('not a response (QR bit clear)');
  const qdcount = reader.u16();
  const ancount = reader.u16();
  const nscount = reader.u16();
  const arcount = reader.u16();
  for (let i = 0; i < qdcount; i++) {
    reader.name();
    reader.skip(4); // QTYPE, QCLASS
  }
  const answers = readRecords(reader, ancount);
  readRecords(reader, nscount);
  const additional = readRecords(reader, arcount);
  return { id, truncated: (flags & 0x0200) !== 0, rcode: flags & 0x000f, answers, additional };
}

function readRecords(reader: Reader, count: number): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.name();
    const type = reader.u16();
    reader.u16(); // class
    const ttl = reader.u32();
    const length = reader.u16();
    const end = reader.offset + length;
    if (end > reader.length) throw new DnsFormatError('record data runs past the end of the message');
    const base = { name, ttl: ttl > 0x7fffffff ? 0 : ttl }; // RFC 2181 8: top bit set means 0
    switch (type) {
      case dnsTypes.A:
        if (length !== 4) throw new DnsFormatError(`A record of ${length} bytes`);
        records.push({ ...base, type: 'A', address: [...reader.bytes(4)].join('.') });
        break;
      case dnsTypes.AAAA:
        if (length !== 16) throw new DnsFormatError(`AAAA record of ${length} bytes`);
        records.push({ ...base, type: 'AAAA', address: formatIPv6(reader.bytes(16)) });
        break;
      case dnsTypes.CNAME:
        records.push({ ...base, type: 'CNAME', target: reader.name() });
        break;
      case dnsTypes.SRV: {
        if (length < 7) throw new DnsFormatError(`SRV record of ${length} bytes`);
        const priority = reader.u16();
        const weight = reader.u16();
        const port = reader.u16();
        records.push({ ...base, type: 'SRV', priority, weight, port, target: reader.name() });
        break;
      }
      default:
        records.push({ ...base, type: 'OTHER', code: type });
    }
    if (reader.offset > end) throw new DnsFormatError('record data longer than its length');
    reader.offset = end;
  }
  return records;
}

/** Canonical (RFC 5952) text of a 16-byte IPv6 address. */
function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // IPv4-mapped (::ffff:a.b.c.d) is written the usual way.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = [...bytes.subarray(12)].join('.');
    if (isIPv4(v4)) return `::ffff:${v4}`;
  }
  // The longest run of two or more zero groups becomes '::' (the first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

class Reader {
  offset = 0;
  readonly #message: Buffer;

  constructor(message: Buffer) {
    this.#message = message;
  }

  get length(): number {
    return this.#message.length;
  }

  #need(count: number): void {
    if (this.offset + count > this.#message.length) throw new DnsFormatError('message ends early');
  }

  u16(): number {
    this.#need(2);
    const value = this.#message.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.#need(4);
    const value = this.#message.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(count: number): Buffer {
    this.#need(count);
    const value = this.#message.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }

  skip(count: number): void {
    this.#need(count);
    this.offset += count;
  }

  /** A possibly compressed name (RFC 1035 4.1.4), lower case, no trailing dot. */
  name(): string {
    const labels: string[] = [];
    let position = this.offset;
    let jumped = false;
    let jumps = 0;
    let total = 0;
    for (;;) {
      if (position >= this.#message.length) throw new DnsFormatError('name runs past the end of the message');
      const length = this.#message[position]!;
      if ((length & 0xc0) === 0xc0) {
        if (position + 1 >= this.#message.length) throw new DnsFormatError('truncated compression pointer');
        if (++jumps > 64) throw new DnsFormatError('compression pointer loop');
        const target = ((length & 0x3f) << 8) | this.#message[position + 1]!;
        if (!jumped) this.offset = position + 2;
        jumped = true;
        position = target;
        continue;
      }
      if ((length & 0xc0) !== 0) throw new DnsFormatError('unknown label type');
      if (length === 0) {
        if (!jumped) this.offset = position + 1;
        break;
      }
      if (position + 1 + length > this.#message.length) throw new DnsFormatError('label runs past the end of the message');
      total += length + 1;
      if (total > 255) throw new DnsFormatError('name longer than 255 bytes');
      labels.push(this.#message.toString('latin1', position + 1, position + 1 + length).toLowerCase());
      position += 1 + length;
    }
    return labels.join('.');
  }
}
