// Runs body with one environment variable set (or unset, for undefined), then restores it.
// The CPU backend reads ALEXNET_CPU_GEMM and ALEXNET_CPU_CONV at every call, so a test can
// compare its algorithms in one process.
export function withEnv<T>(name: string, value: string | undefined, body: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
