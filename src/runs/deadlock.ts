// Transactions that lock several rows (deleting a run writes its children and cascades to its
// events) can deadlock with a concurrent writer: PostgreSQL aborts one side, which tries again.

/** Runs `operation` (a whole transaction) again when PostgreSQL aborted it as a deadlock victim. */
export async function retryOnDeadlock<T>(operation: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const text = `${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? ''}`;
      if (attempt >= attempts || !/P2034|40P01|deadlock/i.test(text)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 50));
    }
  }
}
