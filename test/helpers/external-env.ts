// The environment for programs that are not node (dnsmasq, etcd, keepalived, chromium,
// shell tools). The sanitizer run (scripts/asan-tests.sh) preloads ASan's runtime into
// every process so that node can load the ASan build of the addon; other programs must
// not inherit it, or they fail for reasons that have nothing to do with lb-native.
export function externalProgramEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  delete env.UBSAN_OPTIONS;
  // A node started through such a program (e.g. `ip netns exec ... node`) has no
  // preloaded runtime, so it cannot load the ASan build either: it uses the normal one.
  delete env.LB_NATIVE_ADDON;
  return env;
}
