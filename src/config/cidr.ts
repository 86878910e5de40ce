// CIDR blocks as the allow and deny lists take them: `10.0.0.0/8`, `2001:db8::/32`, or a
// bare address (a /32 or /128). The data path parses them again (native/protection/
// cidr_set.cpp) with the same rules, so `validate` refuses what a start would.
import { isIPv4, isIPv6 } from 'node:net';

export type CidrResult = { ok: true; block: string } | { ok: false; message: string };

const expected = 'expected an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32';

/** 16 bytes of an IPv6 address (the text passed isIPv6). */
function v6Bytes(text: string): number[] {
  let head = text;
  let v4Tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4Tail = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').filter((g) => g !== '') : []);
  const leftGroups = groups(left);
  const rightGroups = groups(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...new Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  const bytes = all.flatMap((g) => {
    const value = parseInt(g, 16);
    return [value >> 8, value & 0xff];
  });
  if (v4Tail.length === 4) bytes.splice(12, 4, ...v4Tail);
  return bytes;
}

/** Checks one block; host bits past the prefix are refused (a likely typo). */
export function parseCidr(text: string): CidrResult {
  if (text.length === 0 || text.length > 49) return { ok: false, message: `${expected}, got '${text}'` };
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(host);
  if (!v4 && !isIPv6(host)) return { ok: false, message: `${expected}, got '${text}'` };
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return { ok: false, message: `expected a prefix length after '/', got '${text}'` };
    prefix = Number(digits);
    if (prefix > max) return { ok: false, message: `prefix length must be 0-${max}, got '${text}'` };
  }
  const bytes = v4 ? host.split('.').map(Number) : v6Bytes(host);
  for (let bit = prefix; bit < max; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) {
      return { ok: false, message: `host bits are set past /${prefix} in '${text}' (did you mean the network address?)` };
    }
  }
  return { ok: true, block: text };
}
