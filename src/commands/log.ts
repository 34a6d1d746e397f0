export function logger(prefix: string) {
  return (message: string) => console.log(`[${prefix}] ${message}`);
}

export async function timed<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    phases[name] = Math.round(performance.now() - started);
  }
}
