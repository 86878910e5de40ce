/** Exit statuses: 0 after a graceful stop, 2 for usage errors and invalid configurations, 1 for runtime failures. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;
