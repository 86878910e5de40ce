// GET /protection: the edge rules in force and their counters, each rate limit with its
// own count of 429s (the data path counts them by the rule's position; named here).
import type { ProtectionConfig } from '../config/protection-schema.js';
import type { NativeProtectionStats } from '../native.js';

export interface ProtectionView {
  allow: string[];
  deny: string[];
  maxConnectionsPerClient: number;
  rateLimitKeys: number;
  rateLimits: Array<ProtectionConfig['rateLimits'][number] & { limited: number }>;
  counters: Omit<NativeProtectionStats, 'limitedByRule'> | undefined;
}

export function protectionView(config: ProtectionConfig, stats: NativeProtectionStats | undefined): ProtectionView {
  const { limitedByRule, ...counters } = stats ?? { limitedByRule: [] as number[] };
  return {
    allow: [...config.allow],
    deny: [...config.deny],
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    rateLimitKeys: config.rateLimitKeys,
    rateLimits: config.rateLimits.map((rule, index) => ({ ...rule, limited: limitedByRule[index] ?? 0 })),
    counters: stats ? (counters as ProtectionView['counters']) : undefined,
  };
}
